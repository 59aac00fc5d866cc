/**
 * UI strings of "the app's CRM fields" on the Settings page (remove them before uninstalling,
 * re-create them) in the five UI languages; each language's dictionary spreads its part.
 */
const en = {
  fieldsTitle: "The app's CRM fields",
  fieldsHelp: 'The app writes its labels into contact and company fields (UF_CRM_SEG_…). Bitrix24 keeps these fields when the app is uninstalled: remove them here first if you want the CRM without them. Their values on every card are deleted; nothing else is.',
  fieldsRemove: "Remove the app's fields",
  fieldsConfirmTitle: "Remove the app's fields?",
  fieldsConfirmText: 'Every field of the app and its values on every contact and company are deleted from Bitrix24. Filters, CRM segments and automation that use them stop working. The write-back stays off until you re-create the fields.',
  fieldsConfirmType: 'Type {word} to confirm',
  fieldsConfirmCancel: 'Cancel',
  fieldsRemoving: 'Removing…',
  fieldsRemoved: 'Fields removed: {n}.',
  fieldsRemovedBanner: 'The app\'s fields were removed on {d}: nothing is written to the CRM until they are re-created.',
  fieldsRestore: 'Re-create the fields',
  fieldsRestored: 'The fields are back; the next write-back fills them.',
  fieldsBusy: 'A write-back is running now: try again when it has finished.',
};

const ru: typeof en = {
  fieldsTitle: 'Поля приложения в CRM',
  fieldsHelp: 'Приложение записывает свои метки в поля контактов и компаний (UF_CRM_SEG_…). При удалении приложения Битрикс24 эти поля сохраняет: если CRM нужна без них, сначала удалите их здесь. Удаляются их значения во всех карточках, больше ничего.',
  fieldsRemove: 'Удалить поля приложения',
  fieldsConfirmTitle: 'Удалить поля приложения?',
  fieldsConfirmText: 'Все поля приложения и их значения во всех контактах и компаниях будут удалены из Битрикс24. Фильтры, сегменты CRM и автоматизация, которые их используют, перестанут работать. Запись в CRM будет выключена, пока вы не создадите поля заново.',
  fieldsConfirmType: 'Введите {word} для подтверждения',
  fieldsConfirmCancel: 'Отмена',
  fieldsRemoving: 'Удаление…',
  fieldsRemoved: 'Удалено полей: {n}.',
  fieldsRemovedBanner: 'Поля приложения удалены {d}: в CRM ничего не записывается, пока они не будут созданы заново.',
  fieldsRestore: 'Создать поля заново',
  fieldsRestored: 'Поля созданы; следующая запись в CRM заполнит их.',
  fieldsBusy: 'Сейчас идёт запись в CRM: повторите, когда она закончится.',
};

const de: typeof en = {
  fieldsTitle: 'CRM-Felder der App',
  fieldsHelp: 'Die App schreibt ihre Kennzeichen in Kontakt- und Unternehmensfelder (UF_CRM_SEG_…). Bitrix24 behält diese Felder, wenn die App deinstalliert wird: Entfernen Sie sie zuerst hier, wenn das CRM ohne sie sein soll. Ihre Werte auf allen Karten werden gelöscht, sonst nichts.',
  fieldsRemove: 'Felder der App entfernen',
  fieldsConfirmTitle: 'Felder der App entfernen?',
  fieldsConfirmText: 'Alle Felder der App und ihre Werte auf allen Kontakten und Unternehmen werden aus Bitrix24 gelöscht. Filter, CRM-Segmente und Automatisierungen, die sie nutzen, funktionieren nicht mehr. Das Zurückschreiben bleibt aus, bis Sie die Felder neu anlegen.',
  fieldsConfirmType: 'Geben Sie {word} zur Bestätigung ein',
  fieldsConfirmCancel: 'Abbrechen',
  fieldsRemoving: 'Wird entfernt…',
  fieldsRemoved: 'Entfernte Felder: {n}.',
  fieldsRemovedBanner: 'Die Felder der App wurden am {d} entfernt: Bis sie neu angelegt sind, wird nichts ins CRM geschrieben.',
  fieldsRestore: 'Felder neu anlegen',
  fieldsRestored: 'Die Felder sind wieder da; das nächste Zurückschreiben füllt sie.',
  fieldsBusy: 'Gerade läuft ein Zurückschreiben: Versuchen Sie es erneut, wenn es beendet ist.',
};

const pl: typeof en = {
  fieldsTitle: 'Pola aplikacji w CRM',
  fieldsHelp: 'Aplikacja zapisuje swoje etykiety w polach kontaktów i firm (UF_CRM_SEG_…). Bitrix24 zachowuje te pola po odinstalowaniu aplikacji: jeśli CRM ma być bez nich, najpierw usuń je tutaj. Usuwane są ich wartości na wszystkich kartach i nic poza tym.',
  fieldsRemove: 'Usuń pola aplikacji',
  fieldsConfirmTitle: 'Usunąć pola aplikacji?',
  fieldsConfirmText: 'Wszystkie pola aplikacji i ich wartości we wszystkich kontaktach i firmach zostaną usunięte z Bitrix24. Filtry, segmenty CRM i automatyzacje, które z nich korzystają, przestaną działać. Zapis do CRM pozostanie wyłączony, dopóki nie utworzysz pól ponownie.',
  fieldsConfirmType: 'Wpisz {word}, aby potwierdzić',
  fieldsConfirmCancel: 'Anuluj',
  fieldsRemoving: 'Usuwanie…',
  fieldsRemoved: 'Usunięte pola: {n}.',
  fieldsRemovedBanner: 'Pola aplikacji zostały usunięte {d}: nic nie jest zapisywane do CRM, dopóki nie zostaną utworzone ponownie.',
  fieldsRestore: 'Utwórz pola ponownie',
  fieldsRestored: 'Pola wróciły; następny zapis do CRM je wypełni.',
  fieldsBusy: 'Trwa właśnie zapis do CRM: spróbuj ponownie, gdy się zakończy.',
};

const ua: typeof en = {
  fieldsTitle: 'Поля застосунку в CRM',
  fieldsHelp: 'Застосунок записує свої мітки в поля контактів і компаній (UF_CRM_SEG_…). Під час видалення застосунку Бітрікс24 ці поля зберігає: якщо CRM потрібна без них, спершу видаліть їх тут. Видаляються їхні значення в усіх картках, більше нічого.',
  fieldsRemove: 'Видалити поля застосунку',
  fieldsConfirmTitle: 'Видалити поля застосунку?',
  fieldsConfirmText: 'Усі поля застосунку та їхні значення в усіх контактах і компаніях буде видалено з Бітрікс24. Фільтри, сегменти CRM і автоматизація, що їх використовують, перестануть працювати. Запис у CRM залишиться вимкненим, доки ви не створите поля знову.',
  fieldsConfirmType: 'Введіть {word} для підтвердження',
  fieldsConfirmCancel: 'Скасувати',
  fieldsRemoving: 'Видалення…',
  fieldsRemoved: 'Видалено полів: {n}.',
  fieldsRemovedBanner: 'Поля застосунку видалено {d}: у CRM нічого не записується, доки їх не буде створено знову.',
  fieldsRestore: 'Створити поля знову',
  fieldsRestored: 'Поля створено; наступний запис у CRM заповнить їх.',
  fieldsBusy: 'Зараз триває запис у CRM: повторіть, коли він закінчиться.',
};

export const FIELDS = { en, ru, de, pl, ua };
