/** Name, city and catalog pools for the data generator (a shop / B2B seller). */

export interface NamePool {
  maleFirst: readonly string[];
  femaleFirst: readonly string[];
  /** Male last names; `femaleLast` derives the female form. */
  last: readonly string[];
  femaleLast: (male: string) => string;
  maleSecond?: readonly string[];
  femaleSecond?: readonly string[];
  cities: readonly string[];
  phonePrefix: string;
  emailDomains: readonly string[];
  /** Preferred deal currency other than the base, if any. */
  currency: string | null;
}

export const RU: NamePool = {
  maleFirst: ['Alexander', 'Dmitry', 'Sergey', 'Andrey', 'Alexey', 'Maxim', 'Ivan', 'Mikhail', 'Nikolay', 'Pavel',
    'Artem', 'Vladimir', 'Oleg', 'Igor', 'Roman', 'Yuri', 'Konstantin', 'Denis', 'Evgeny', 'Kirill'],
  femaleFirst: ['Anna', 'Maria', 'Elena', 'Olga', 'Natalia', 'Tatiana', 'Irina', 'Svetlana', 'Ekaterina', 'Yulia',
    'Anastasia', 'Daria', 'Ksenia', 'Polina', 'Marina', 'Victoria', 'Alina', 'Sofia', 'Valentina', 'Galina'],
  last: ['Ivanov', 'Smirnov', 'Kuznetsov', 'Popov', 'Vasilyev', 'Petrov', 'Sokolov', 'Mikhailov', 'Novikov',
    'Fedorov', 'Morozov', 'Volkov', 'Alekseev', 'Lebedev', 'Semenov', 'Egorov', 'Pavlov', 'Kozlov', 'Stepanov',
    'Nikolaev', 'Orlov', 'Andreev', 'Makarov', 'Zakharov', 'Zaitsev', 'Solovyov', 'Borisov', 'Yakovlev',
    'Grigoryev', 'Romanov', 'Vorobyov', 'Sergeev', 'Frolov', 'Belov', 'Medvedev', 'Ershov', 'Nikitin', 'Sobolev'],
  femaleLast: (m) => `${m}a`,
  maleSecond: ['Alexandrovich', 'Sergeevich', 'Ivanovich', 'Dmitrievich', 'Andreevich', 'Petrovich', 'Olegovich'],
  femaleSecond: ['Alexandrovna', 'Sergeevna', 'Ivanovna', 'Dmitrievna', 'Andreevna', 'Petrovna', 'Olegovna'],
  cities: ['Moscow', 'Saint Petersburg', 'Novosibirsk', 'Yekaterinburg', 'Kazan', 'Nizhny Novgorod', 'Samara',
    'Krasnodar', 'Rostov-on-Don', 'Voronezh', 'Perm', 'Ufa'],
  phonePrefix: '+7',
  emailDomains: ['mail.ru', 'yandex.ru', 'gmail.com', 'bk.ru', 'inbox.ru'],
  currency: 'RUB',
};

export const EN: NamePool = {
  maleFirst: ['James', 'John', 'Robert', 'Michael', 'William', 'David', 'Richard', 'Joseph', 'Thomas', 'Daniel',
    'Matthew', 'Andrew', 'Oliver', 'Harry', 'George', 'Jack', 'Ethan', 'Lucas', 'Noah', 'Samuel'],
  femaleFirst: ['Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Susan', 'Jessica', 'Sarah', 'Emily', 'Emma',
    'Olivia', 'Sophie', 'Charlotte', 'Amelia', 'Grace', 'Chloe', 'Hannah', 'Lily', 'Isabella', 'Megan'],
  last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor',
    'Thomas', 'Moore', 'Martin', 'Jackson', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Walker', 'Hall',
    'Young', 'King', 'Wright', 'Scott', 'Green', 'Baker', 'Adams', 'Nelson', 'Carter', 'Mitchell', 'Roberts',
    'Turner', 'Phillips', 'Campbell', 'Parker', 'Evans', 'Edwards', 'Collins', 'Stewart'],
  femaleLast: (m) => m,
  cities: ['New York', 'London', 'Chicago', 'Boston', 'Manchester', 'Toronto', 'San Francisco', 'Austin',
    'Seattle', 'Dublin', 'Berlin', 'Amsterdam'],
  phonePrefix: '+1',
  emailDomains: ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me'],
  currency: null,
};

/** Catalog: top-level sections with leaf sections; products carry [name, price in USD]. */
export interface LeafDef {
  name: string;
  code: string;
  products: ReadonlyArray<readonly [string, number]>;
}
export interface TopDef {
  name: string;
  code: string;
  leaves: readonly LeafDef[];
}

export const CATALOG: readonly TopDef[] = [
  {
    name: 'Furniture', code: 'furniture', leaves: [
      { name: 'Kitchens', code: 'kitchens', products: [['Kitchen set "Provence" 2.4 m', 3900], ['Kitchen set "Loft" 3.0 m', 5200], ['Corner kitchen "Nordic"', 4400], ['Kitchen island "Oak"', 1450], ['Bar stool "Metro"', 95], ['Wall cabinet 60 cm', 180], ['Kitchen sink unit 80 cm', 260]] },
      { name: 'Sofas', code: 'sofas', products: [['Sofa "Chester" 3-seat', 1890], ['Corner sofa "Milano"', 2450], ['Sofa bed "Comfort"', 990], ['Armchair "Relax"', 540], ['Ottoman "Cube"', 120], ['Modular sofa "Cloud"', 3100]] },
      { name: 'Beds', code: 'beds', products: [['Bed "Scandi" 160x200', 780], ['Bed "Royal" 180x200', 1350], ['Orthopedic mattress 160x200', 620], ['Bunk bed "Twins"', 690], ['Bedside table "Oak"', 140]] },
      { name: 'Office furniture', code: 'office-furniture', products: [['Office chair "Ergo Pro"', 420], ['Desk "Workline" 140 cm', 380], ['Meeting table 8-seat', 1250], ['Filing cabinet 3 drawers', 210], ['Standing desk "Lift"', 690]] },
    ],
  },
  {
    name: 'Kids', code: 'kids', leaves: [
      { name: 'Strollers', code: 'strollers', products: [['Stroller "City Go" 2-in-1', 540], ['Stroller "Travel Lite"', 240], ['Twin stroller "Duo"', 760], ['Stroller rain cover', 25], ['Stroller organizer', 19]] },
      { name: 'Toys', code: 'toys', products: [['Building blocks set 500 pcs', 45], ['Wooden railway set', 79], ['Plush bear 60 cm', 29], ['Doll house "Villa"', 139], ['Remote control car', 59], ['Puzzle 1000 pcs', 18], ['Board game "Island"', 35]] },
      { name: 'Car seats', code: 'car-seats', products: [['Car seat "Safe 0+"', 210], ['Car seat "Grow 1-2-3"', 290], ['Booster seat', 49], ['Isofix base', 150]] },
      { name: 'Kids clothing', code: 'kids-clothing', products: [['Winter overall', 89], ['Kids sneakers', 39], ['School backpack', 49], ['Raincoat', 25], ['Pajama set', 19]] },
    ],
  },
  {
    name: 'Electronics', code: 'electronics', leaves: [
      { name: 'Phones', code: 'phones', products: [['Smartphone "Nova X" 128 GB', 699], ['Smartphone "Nova X Pro" 256 GB', 999], ['Smartphone "Lite 5"', 249], ['Phone case', 19], ['Wireless charger', 35], ['Screen protector', 12]] },
      { name: 'Laptops', code: 'laptops', products: [['Laptop "Book 14" i5/16/512', 1090], ['Laptop "Book Pro 16" i7/32/1T', 2190], ['Laptop "Student 15"', 549], ['Laptop bag 15"', 45], ['USB-C dock', 129]] },
      { name: 'TV & Audio', code: 'tv-audio', products: [['TV 55" 4K', 649], ['TV 65" OLED', 1790], ['Soundbar 3.1', 299], ['Wireless headphones', 179], ['Bluetooth speaker', 79]] },
      { name: 'Smart home', code: 'smart-home', products: [['Smart speaker', 99], ['Smart bulb 4-pack', 49], ['Robot vacuum', 399], ['Video doorbell', 149], ['Smart thermostat', 199]] },
    ],
  },
  {
    name: 'Home & Garden', code: 'home-garden', leaves: [
      { name: 'Garden tools', code: 'garden-tools', products: [['Lawn mower electric', 289], ['Garden hose 25 m', 35], ['Pruning shears', 22], ['Leaf blower', 119], ['Wheelbarrow', 89]] },
      { name: 'Lighting', code: 'lighting', products: [['Pendant lamp "Globe"', 149], ['Floor lamp "Arc"', 229], ['LED strip 5 m', 29], ['Desk lamp', 45], ['Outdoor lantern', 65]] },
      { name: 'Textiles', code: 'textiles', products: [['Bed linen set', 69], ['Curtains pair', 89], ['Wool blanket', 79], ['Towel set 6 pcs', 39], ['Rug 200x300', 259]] },
    ],
  },
  {
    name: 'Sports', code: 'sports', leaves: [
      { name: 'Bicycles', code: 'bicycles', products: [['Mountain bike 29"', 890], ['City bike', 450], ['Kids bike 16"', 180], ['Bike helmet', 59], ['Bike lock', 29]] },
      { name: 'Fitness', code: 'fitness', products: [['Treadmill "Run 500"', 1190], ['Dumbbell set 20 kg', 89], ['Yoga mat', 25], ['Exercise bike', 549], ['Fitness tracker', 99]] },
    ],
  },
];

export const COMPANY_WORDS = ['Nord', 'Alfa', 'Vector', 'Orion', 'Delta', 'Sever', 'Ural', 'Baltic', 'Atlas', 'Zenith',
  'Vega', 'Polar', 'Granite', 'Horizon', 'Meridian', 'Pioneer', 'Summit', 'Quantum', 'Aurora', 'Sigma', 'Titan',
  'Cedar', 'Falcon', 'Harbor', 'Matrix', 'Neptune', 'Phoenix', 'Stella', 'Unity', 'Volga'];
export const COMPANY_KINDS = ['Trade', 'Group', 'Retail', 'Interiors', 'Supply', 'Systems', 'Home', 'Kids', 'Office',
  'Hotels', 'Development', 'Logistics'];
export const COMPANY_FORMS = ['LLC', 'Ltd', 'Inc.', 'JSC', 'GmbH', 'Co.'];
export const INDUSTRIES = ['IT', 'TELECOM', 'MANUFACTURING', 'BANKING', 'CONSULTING', 'FINANCE', 'GOVERNMENT', 'DELIVERY',
  'ENTERTAINMENT', 'NOTPROFIT', 'OTHER'];
export const POSTS = ['Purchasing manager', 'Office manager', 'CEO', 'Procurement lead', 'Facility manager',
  'Store manager', 'Chief accountant'];

export const LOSS_REASONS = ['Too expensive', 'Chose a competitor', 'No response from the customer', 'Out of stock',
  'Delivery time too long', 'Changed their mind', 'Budget postponed'];
