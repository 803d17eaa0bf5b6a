// Names for the generated schema (src/api/schema.d.ts, from the API's OpenAPI document).
import type { components } from "./schema";

type Schemas = components["schemas"];
export type Asset = Schemas["AssetData"];
export type AssetDetail = Schemas["AssetDetailData"];
export type Assets = Schemas["AssetsPublic"];
export type AssetTrades = Schemas["AssetTransactionsPublic"];
export type Balance = Schemas["BalancePublic"];
export type BalanceChange = Schemas["BalanceChangePublic"];
export type Insights = Schemas["PortfolioInsightsPublic"];
export type Order = Schemas["OrderPublic"];
export type OrderCreate = Schemas["OrderCreate"];
export type Orders = Schemas["OrdersPublic"];
export type Portfolio = Schemas["PortfolioPublic"];
export type PriceHistory = Schemas["PriceHistoryPublic"];
export type ProblemBody = Schemas["Problem"];
export type ProfileUpdate = Schemas["ProfileUpdate"];
export type Tokens = Schemas["TokenPublic"];
export type Transactions = Schemas["TransactionsPublic"];
export type UserCreate = Schemas["UserCreate"];
export type User = Schemas["UserPublic"];
