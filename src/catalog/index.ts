export { Catalog } from "./catalog.js";
export { UpstreamModelList } from "./upstream-models.js";
