// The capacity plan: how far the app may scale out before the database refuses it. No resources, only arithmetic.
//
// Every Flex Consumption instance keeps its own connection pool, so the database sees at most
//   maximumInstanceCount × Max Pool Size
// connections from the app. Each request of the API uses one connection at a time (one pooled DbContext), so a pool as
// large as the instance's HTTP perInstanceConcurrency never makes a request wait for a connection, and a larger one
// would only open connections nobody uses. The plan keeps that product under the database's limit with headroom:
//   appConnectionBudget    = databaseLimit × (100 − headroomPercent) / 100 − adminConnections
//   maximumInstanceCount   = max(lowest the platform accepts,
//                                min(requested maximum, appConnectionBudget / min(requested concurrency, appConnectionBudget)))
//   perInstanceConcurrency = Max Pool Size = min(requested concurrency, appConnectionBudget / maximumInstanceCount)
// (integer division), so maximumInstanceCount × Max Pool Size ≤ appConnectionBudget < databaseLimit. When the platform's
// lowest maximum (40) is more instances than the database can give the requested concurrency, each instance gets less
// concurrency instead: more, less busy instances, never more connections. A request beyond an instance's
// concurrency waits at the platform's front end (or gets a new instance while the maximum allows) instead of reaching
// the database, and a pool that is somehow exhausted fails fast into a 503 (see docs/data.md).
//
// Database limits (looked up 2026-11-29):
// - Azure SQL Database, General Purpose serverless (standard-series Gen5): max concurrent workers = 75 per max vCore
//   (GP_S_Gen5_1: 75 … GP_S_Gen5_16: 1,200); sessions are 30,000 at every size, so workers are the binding limit.
//   https://learn.microsoft.com/azure/azure-sql/database/resource-limits-vcore-single-databases
//   A connection runs one request at a time (no MARS), so the app never needs more workers than it has connections;
//   the API's queries are single-row or index-range statements that do not go parallel.
// - Azure Database for PostgreSQL Flexible Server: max_connections by SKU (B1ms 50, B2s 429, B2ms 859, D2ds_v5 859,
//   D4ds_v5 1,718, D8ds_v5 3,437), of which Azure reserves 15 for replication and monitoring. The template sets
//   max_connections to exactly that value so the number below is the server's, not a guess.
//   https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-limits
// Flex Consumption: maximumInstanceCount (on-demand instances of one function group; all HTTP functions are one group)
// 40–1,000 in most regions (lower values in preview in a few; the documentation has said both 1 and 40), HTTP
// perInstanceConcurrency 1–1,000 (platform default 16 at 2,048 MB).
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan, https://github.com/MicrosoftDocs/azure-docs/pull/128255

@allowed([
  'AzureSql'
  'PostgreSql'
])
param databaseEngine string

@description('Azure SQL serverless service objective (used when databaseEngine is AzureSql).')
param sqlDatabaseSkuName string

@description('PostgreSQL Flexible Server compute SKU (used when databaseEngine is PostgreSql).')
param postgreSqlSkuName string

@minValue(1)
@maxValue(1000)
param requestedPerInstanceConcurrency int

@minValue(1)
@maxValue(1000)
param requestedMaximumInstanceCount int

@description('The lowest maximumInstanceCount Flex Consumption accepts in the region: 40, or 1 where lower values are enabled.')
@minValue(1)
@maxValue(1000)
param lowestMaximumInstanceCount int = 40

@description('Share of the database limit the app never uses: bursts, failovers, reconnect storms, people.')
@minValue(10)
@maxValue(90)
param headroomPercent int = 20

@description('Connections kept free for the deployment (migration bundle, grant script) and administrators.')
@minValue(1)
param adminConnections int = 5

// Azure SQL: max concurrent workers of each serverless size = 75 × max vCores.
var sqlMaxVCores = {
  GP_S_Gen5_1: 1
  GP_S_Gen5_2: 2
  GP_S_Gen5_4: 4
  GP_S_Gen5_6: 6
  GP_S_Gen5_8: 8
  GP_S_Gen5_10: 10
  GP_S_Gen5_12: 12
  GP_S_Gen5_14: 14
  GP_S_Gen5_16: 16
}
var sqlWorkersPerVCore = 75

// PostgreSQL: max_connections of each SKU (the server parameter this template sets), minus Azure's 15 reserved.
// (Standard_B1ms, 50, is left out: 35 user connections cannot serve the platform's 40 instances one each.)
var postgreSqlMaxConnections = {
  Standard_B2s: 429
  Standard_B2ms: 859
  Standard_D2ds_v5: 859
  Standard_D4ds_v5: 1718
  Standard_D8ds_v5: 3437
}
var postgreSqlAzureReservedConnections = 15

var isAzureSql = databaseEngine == 'AzureSql'
var databaseLimit = isAzureSql
  ? sqlMaxVCores[sqlDatabaseSkuName] * sqlWorkersPerVCore
  : postgreSqlMaxConnections[postgreSqlSkuName] - postgreSqlAzureReservedConnections
var appConnectionBudget = databaseLimit * (100 - headroomPercent) / 100 - adminConnections
var instancesAtRequestedConcurrency = appConnectionBudget / min(requestedPerInstanceConcurrency, appConnectionBudget)
var instanceCount = max(lowestMaximumInstanceCount, min(requestedMaximumInstanceCount, instancesAtRequestedConcurrency))
var poolSize = min(requestedPerInstanceConcurrency, appConnectionBudget / instanceCount)

@description('Concurrent requests (Azure SQL workers) or user connections (PostgreSQL) the database allows.')
output databaseLimit int = databaseLimit

@description('The most connections all instances together may open.')
output appConnectionBudget int = appConnectionBudget

@description('Max Pool Size of each instance\'s connection string.')
output maxPoolSize int = poolSize

@description('HTTP perInstanceConcurrency of the Flex Consumption app.')
output perInstanceConcurrency int = poolSize

@description('maximumInstanceCount of the Flex Consumption app.')
output maximumInstanceCount int = instanceCount

@description('max_connections to set on the PostgreSQL server (0 for Azure SQL).')
output postgreSqlMaxConnections int = isAzureSql ? 0 : postgreSqlMaxConnections[postgreSqlSkuName]
