import { describeAdminPages } from "./admin-pages.js";

describeAdminPages("en");
