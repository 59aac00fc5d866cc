/** Public surface of the Bitrix24 REST client (issue 3, part 4). */
export * from './errors.js';
export * from './auth.js';
export * from './limiter.js';
export * from './batch-encoding.js';
export * from './client.js';
export * from './transport.js';
export * from './user-token.js';
export * from './fields.js';
export * from './ranges.js';
export { exportList, exportProductRows, collect } from './export.js';
export { exportCatalogPrices, CATALOG_PRICE_SELECT } from './export-catalog.js';
export type { ExportOptions, ExportPage, ProductRowsOptions, ProductRowsPage, Row, EntityName, Flavor } from './export.js';
