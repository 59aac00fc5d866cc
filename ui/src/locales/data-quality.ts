/**
 * UI strings of the dashboard's data-quality panel (docs/data-quality.md) in the five UI languages;
 * each language's dictionary (en.ts, ru.ts, …) spreads its part, so they are checked like every other key.
 */
const en = {
  dqTitle: 'Data quality',
  dqIntro: 'Problems in the CRM data the segments are computed from. "Moves" is how many customers would get another segment if the problem were fixed.',
  dqWarn: 'Data problems change the segment of more than {pct} of customers: {checks}. Fix them in the CRM; the next sync and run pick the fix up.',
  dqCheck: 'Problem', dqCount: 'Records', dqMoved: 'Moves', dqOpenList: 'Open in CRM', dqRecords: 'Records',
  dqNone: 'No problems found.', dqOld: 'This run was stored before the data-quality checks existed; the next run adds them.',
  dq_zeroWon: 'Won deals with zero amount', dq_noCustomer: 'Deals without any contact or company',
  dq_noRate: 'Deals in currencies without a rate', dq_duplicates: 'Duplicates (same e-mail or phone)',
  dq_unlinkedRevenue: 'Won deals not tied to a customer',
  dqGroups: '{n} groups', dqShare: '{pct} of won revenue', dqCurrencies: 'currencies: {list}',
  dqListNote: 'The list is filtered to exactly these records.', dqNoListNote: 'The CRM list has no filter for exactly these records: open them one by one.',
};
type DqDict = typeof en;

const ru: DqDict = {
  dqTitle: 'Качество данных',
  dqIntro: 'Проблемы в данных CRM, по которым считаются сегменты. «Сдвигает» — у скольких клиентов сменился бы сегмент, если исправить проблему.',
  dqWarn: 'Проблемы в данных меняют сегмент более чем у {pct} клиентов: {checks}. Исправьте их в CRM — следующая синхронизация и расчёт это учтут.',
  dqCheck: 'Проблема', dqCount: 'Записей', dqMoved: 'Сдвигает', dqOpenList: 'Открыть в CRM', dqRecords: 'Записи',
  dqNone: 'Проблем не найдено.', dqOld: 'Этот расчёт сохранён до появления проверок качества данных; следующий расчёт их добавит.',
  dq_zeroWon: 'Выигранные сделки с нулевой суммой', dq_noCustomer: 'Сделки без контакта и компании',
  dq_noRate: 'Сделки в валютах без курса', dq_duplicates: 'Дубли (тот же e-mail или телефон)',
  dq_unlinkedRevenue: 'Выигранные сделки без клиента',
  dqGroups: 'групп: {n}', dqShare: '{pct} выручки выигранных сделок', dqCurrencies: 'валюты: {list}',
  dqListNote: 'Список отфильтрован ровно по этим записям.', dqNoListNote: 'В списке CRM нет фильтра ровно по этим записям: откройте их по одной.',
};

const de: DqDict = {
  dqTitle: 'Datenqualität',
  dqIntro: 'Probleme in den CRM-Daten, aus denen die Segmente berechnet werden. „Verschiebt“: bei wie vielen Kunden sich das Segment ändern würde, wenn das Problem behoben wäre.',
  dqWarn: 'Datenprobleme ändern das Segment von mehr als {pct} der Kunden: {checks}. Beheben Sie sie im CRM; die nächste Synchronisierung und Berechnung übernehmen das.',
  dqCheck: 'Problemart', dqCount: 'Datensätze', dqMoved: 'Verschiebt', dqOpenList: 'Im CRM öffnen', dqRecords: 'Datensätze',
  dqNone: 'Keine Probleme gefunden.', dqOld: 'Diese Berechnung wurde vor den Datenqualitätsprüfungen gespeichert; die nächste ergänzt sie.',
  dq_zeroWon: 'Gewonnene Deals mit Betrag 0', dq_noCustomer: 'Deals ohne Kontakt und Unternehmen',
  dq_noRate: 'Deals in Währungen ohne Kurs', dq_duplicates: 'Dubletten (gleiche E-Mail oder Telefonnummer)',
  dq_unlinkedRevenue: 'Gewonnene Deals ohne Kunden',
  dqGroups: '{n} Gruppen', dqShare: '{pct} des Umsatzes gewonnener Deals', dqCurrencies: 'Währungen: {list}',
  dqListNote: 'Die Liste ist genau auf diese Datensätze gefiltert.', dqNoListNote: 'Die CRM-Liste hat keinen Filter genau für diese Datensätze: öffnen Sie sie einzeln.',
};

const pl: DqDict = {
  dqTitle: 'Jakość danych',
  dqIntro: 'Problemy w danych CRM, z których liczone są segmenty. „Przesuwa”: ilu klientów dostałoby inny segment, gdyby problem usunąć.',
  dqWarn: 'Problemy w danych zmieniają segment ponad {pct} klientów: {checks}. Popraw je w CRM; następna synchronizacja i obliczenie to uwzględnią.',
  dqCheck: 'Rodzaj problemu', dqCount: 'Rekordy', dqMoved: 'Przesuwa', dqOpenList: 'Otwórz w CRM', dqRecords: 'Rekordy',
  dqNone: 'Nie znaleziono problemów.', dqOld: 'To obliczenie zapisano przed wprowadzeniem kontroli jakości danych; następne je doda.',
  dq_zeroWon: 'Wygrane deale z kwotą 0', dq_noCustomer: 'Deale bez kontaktu i firmy',
  dq_noRate: 'Deale w walutach bez kursu', dq_duplicates: 'Duplikaty (ten sam e-mail lub telefon)',
  dq_unlinkedRevenue: 'Wygrane deale bez klienta',
  dqGroups: 'grup: {n}', dqShare: '{pct} przychodu z wygranych deali', dqCurrencies: 'waluty: {list}',
  dqListNote: 'Lista jest przefiltrowana dokładnie do tych rekordów.', dqNoListNote: 'Lista CRM nie ma filtra dokładnie dla tych rekordów: otwórz je po kolei.',
};

const ua: DqDict = {
  dqTitle: 'Якість даних',
  dqIntro: 'Проблеми в даних CRM, за якими рахуються сегменти. «Зсуває» — у скількох клієнтів змінився б сегмент, якщо виправити проблему.',
  dqWarn: 'Проблеми в даних змінюють сегмент більш ніж у {pct} клієнтів: {checks}. Виправте їх у CRM — наступна синхронізація та розрахунок це врахують.',
  dqCheck: 'Проблема', dqCount: 'Записів', dqMoved: 'Зсуває', dqOpenList: 'Відкрити в CRM', dqRecords: 'Записи',
  dqNone: 'Проблем не знайдено.', dqOld: 'Цей розрахунок збережено до появи перевірок якості даних; наступний розрахунок їх додасть.',
  dq_zeroWon: 'Виграні угоди з нульовою сумою', dq_noCustomer: 'Угоди без контакту та компанії',
  dq_noRate: 'Угоди у валютах без курсу', dq_duplicates: 'Дублі (той самий e-mail або телефон)',
  dq_unlinkedRevenue: 'Виграні угоди без клієнта',
  dqGroups: 'груп: {n}', dqShare: '{pct} виручки виграних угод', dqCurrencies: 'валюти: {list}',
  dqListNote: 'Список відфільтровано рівно за цими записами.', dqNoListNote: 'У списку CRM немає фільтра рівно за цими записами: відкрийте їх по одному.',
};

export const DATA_QUALITY = { en, ru, de, pl, ua };
