export { Catalog, type CatalogModel } from "./catalog.js";
