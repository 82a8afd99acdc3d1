export { Catalog, type CatalogModel } from "./catalog.js";
export { UpstreamModelList, type UpstreamModel } from "./upstream-models.js";
