// Interface texts in Kyrgyz, Russian and English (layer and field titles come from the
// catalogue, in /map/config.json).

export const LANGUAGE_NAMES = { ky: "Кыргызча", ru: "Русский", en: "English" };
const STORAGE_KEY = "geoportal.lang";

const TEXTS = {
  title: {
    ky: "Улуттук геопортал", ru: "Национальный геопортал", en: "National geoportal",
  },
  subtitle: {
    ky: "Кыргыз Республикасынын мейкиндик маалыматтары",
    ru: "Пространственные данные Кыргызской Республики",
    en: "Spatial data of the Kyrgyz Republic",
  },
  skip: { ky: "Картага өтүү", ru: "Перейти к карте", en: "Skip to the map" },
  map: { ky: "Карта", ru: "Карта", en: "Map" },
  panel: { ky: "Катмарлар панели", ru: "Панель слоёв", en: "Layer panel" },
  layers: { ky: "Катмарлар", ru: "Слои", en: "Layers" },
  opacity: { ky: "Тунук эместиги", ru: "Непрозрачность", en: "Opacity" },
  other: { ky: "башка", ru: "прочее", en: "other" },
  searchLabel: { ky: "Жер, кадастрдык код же жол издөө", ru: "Поиск места, кадастрового кода или дороги", en: "Search a place, cadastral code or road" },
  searchPlaceholder: { ky: "Издөө: Бишкек, Ош, ЭМ-01", ru: "Поиск: Бишкек, Ош, ЭМ-01", en: "Search: Bishkek, Osh, ЭМ-01" },
  closest: { ky: "Эң жакын натыйжалар:", ru: "Ближайшие совпадения:", en: "Closest matches:" },
  tryExamples: { ky: "Мисалы", ru: "Например", en: "For example" },
  noResults: { ky: "Эч нерсе табылган жок", ru: "Ничего не найдено", en: "Nothing found" },
  searchFailed: { ky: "Издөө иштебей калды", ru: "Поиск не удался", en: "Search failed" },
  time: { ky: "Убакыт", ru: "Время", en: "Time" },
  timeFilter: { ky: "Датага чейинки объекттерди гана көрсөтүү", ru: "Показывать объекты на дату", en: "Show features as of a date" },
  timeLayers: { ky: "Убакыт боюнча чыпкаланган катмарлар", ru: "Слои с фильтром по времени", en: "Layers filtered by time" },
  downloads: { ky: "Жүктөп алуу", ru: "Скачать", en: "Download" },
  downloadLayer: { ky: "Катмар", ru: "Слой", en: "Layer" },
  downloadHint: { ky: "Учурдагы көрүнүштөгү объекттер", ru: "Объекты в текущем виде карты", en: "Features in the current view" },
  exportHint: { ky: "Күйгүзүлгөн катмарлар көрүнүштө, толугу менен (чоң файлдар даярдалып жатат)", ru: "Включённые слои в текущем виде, полностью (большие файлы готовятся в фоне)", en: "The layers on, in the view, complete (large files are prepared in the background)" },
  upTo: { ky: "эң көп", ru: "не более", en: "up to" },
  pmtiles: { ky: "Көрүнүш PMTiles пакети катары", ru: "Вид карты как пакет PMTiles", en: "The view as a PMTiles package" },
  noVisible: { ky: "Көрүнгөн катмар жок", ru: "Нет видимых слоёв", en: "No visible layer" },
  openItem: { ky: "OGC API'де ачуу", ru: "Открыть в OGC API", en: "Open in the OGC API" },
  record: { ky: "Маалымат топтомунун жазуусу", ru: "Запись о наборе данных", en: "Dataset record" },
  preview: { ky: "Тез көрүү", ru: "Быстрый просмотр", en: "Quick look" },
  readings: { ky: "акыркы көрсөткүчтөр", ru: "последние показания", en: "latest readings" },
  noReadings: { ky: "Бул сенсордун көрсөткүчтөрү азырынча жок", ru: "Показаний этого датчика пока нет", en: "This sensor has no readings yet" },
  lastReading: { ky: "акыркысы", ru: "последнее", en: "last" },
  featureOf: { ky: "объект", ru: "объект", en: "feature" },
  previous: { ky: "Мурунку", ru: "Предыдущий", en: "Previous" },
  next: { ky: "Кийинки", ru: "Следующий", en: "Next" },
  tilt: { ky: "Имараттарды 3D көрүү үчүн картаны жантайтыңыз (Ctrl + сүйрөө)", ru: "Наклоните карту (Ctrl + перетаскивание), чтобы увидеть здания в 3D", en: "Tilt the map (Ctrl + drag) to see the buildings in 3D" },
  externalBasemap: { ky: "Тышкы негизги карта", ru: "Внешняя подложка", en: "External base map" },
  api: { ky: "OGC API", ru: "OGC API", en: "OGC API" },
  catalogue: { ky: "Каталог", ru: "Каталог", en: "Catalogue" },
  zoomIn: { ky: "Жакындатуу", ru: "Приблизить", en: "Zoom in" },
  zoomOut: { ky: "Алыстатуу", ru: "Отдалить", en: "Zoom out" },
  resetBearing: { ky: "Түндүккө буруу", ru: "Повернуть на север", en: "Reset bearing to north" },
  fullscreen: { ky: "Толук экран", ru: "Во весь экран", en: "Full screen" },
  exitFullscreen: { ky: "Толук экрандан чыгуу", ru: "Выйти из полноэкранного режима", en: "Exit full screen" },
  toggleAttribution: { ky: "Маалымат булактары", ru: "Источники данных", en: "Data sources" },
  loadFailed: { ky: "Картаны жүктөө мүмкүн болгон жок", ru: "Не удалось загрузить карту", en: "The map could not be loaded" },
  tilesRetrying: { ky: "Сервер бош эмес: картанын айрым бөлүктөрү кайра жүктөлүүдө…", ru: "Сервер занят: часть карты загружается повторно…", en: "The server is busy: parts of the map are being loaded again…" },
  tilesFailed: { ky: "Картанын айрым бөлүктөрү жүктөлгөн жок", ru: "Часть карты не загрузилась", en: "Parts of the map could not be loaded" },
  retry: { ky: "Кайра аракет кылуу", ru: "Повторить", en: "Try again" },
  share: { ky: "Бөлүшүү", ru: "Поделиться", en: "Share" },
  linkCopied: { ky: "Шилтеме көчүрүлдү", ru: "Ссылка скопирована", en: "Link copied" },
  locate: { ky: "Менин жайгашкан жерим", ru: "Моё местоположение", en: "My location" },
  language: { ky: "Тил", ru: "Язык", en: "Language" },
  zoomToSee: { ky: "көрүү үчүн жакындатыңыз", ru: "приблизьте, чтобы увидеть", en: "zoom in to see" },
  // the map tools (tools.js, measure.js, export.js, table.js)
  tools: { ky: "Куралдар", ru: "Инструменты", en: "Tools" },
  measureDistance: { ky: "Аралыкты өлчөө", ru: "Измерить расстояние", en: "Measure a distance" },
  measureArea: { ky: "Аянтты өлчөө", ru: "Измерить площадь", en: "Measure an area" },
  measureDistanceHint: { ky: "Картадагы чекиттерди басыңыз", ru: "Щёлкайте по точкам на карте", en: "Click points on the map" },
  measureAreaHint: { ky: "Аянттын чекиттерин картадан басыңыз", ru: "Щёлкайте по вершинам площади на карте", en: "Click the corners of the area on the map" },
  length: { ky: "Узундугу", ru: "Длина", en: "Length" },
  area: { ky: "Аянты", ru: "Площадь", en: "Area" },
  perimeter: { ky: "периметри", ru: "периметр", en: "perimeter" },
  finish: { ky: "Бүтүрүү", ru: "Завершить", en: "Finish" },
  clear: { ky: "Тазалоо", ru: "Очистить", en: "Clear" },
  exportPng: { ky: "Көрүнүштү PNG сүрөтү катары сактоо", ru: "Сохранить вид как изображение PNG", en: "Save the view as a PNG image" },
  legend: { ky: "Шарттуу белгилер", ru: "Условные обозначения", en: "Legend" },
  attributeTable: { ky: "Көрүнүштөгү объекттердин таблицасы", ru: "Таблица объектов в виде", en: "Table of the features in view" },
  close: { ky: "Жабуу", ru: "Закрыть", en: "Close" },
  of: { ky: "/", ru: "из", en: "of" },
  ofMore: { ky: "(дагы бар)", ru: "(есть ещё)", en: "(there are more)" },
  noFeatures: { ky: "Бул көрүнүштө объект жок", ru: "В этом виде нет объектов", en: "No feature in this view" },
  tableFailed: { ky: "Объекттерди жүктөө мүмкүн болгон жок", ru: "Не удалось загрузить объекты", en: "The features could not be loaded" },
  zoomToLayer: { ky: "Катмарды толук көрсөтүү", ru: "Показать весь слой", en: "Zoom to the layer" },
};

export function initialLanguage(config) {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (config.languages.includes(stored)) return stored;
  const browser = (navigator.language || "").slice(0, 2);
  return config.languages.includes(browser) ? browser : config.default_language;
}

export function rememberLanguage(lang) {
  localStorage.setItem(STORAGE_KEY, lang);
}

export function t(key, lang) {
  const entry = TEXTS[key];
  return entry ? entry[lang] || entry.en : key;
}

const KY_MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
  "сентябрь", "октябрь", "ноябрь", "декабрь"];
const LOCALES = { ky: "ky-KG", ru: "ru-RU", en: "en-GB" };

// A date (and time) in the interface language. Browsers without Kyrgyz data fall back to
// English in Intl, so Kyrgyz is written here: "2025-ж., 25-август, 14:05" (CLDR's pattern).
export function formatDate(date, lang, { time = false, timeZone = "UTC" } = {}) {
  if (lang === "ky") {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
      timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23",
    }).formatToParts(date).map((p) => [p.type, p.value]));
    const day = `${parts.year}-ж., ${Number(parts.day)}-${KY_MONTHS[Number(parts.month) - 1]}`;
    return time ? `${day}, ${parts.hour}:${parts.minute}` : day;
  }
  const options = time ? { timeZone, dateStyle: "medium", timeStyle: "short" } : { timeZone, dateStyle: "medium" };
  return date.toLocaleString(LOCALES[lang] || "en-GB", options);
}

// Localised text of a {ky, ru, en} object from the configuration.
export function tr(text, lang) {
  return (text && (text[lang] || text.en)) || "";
}
