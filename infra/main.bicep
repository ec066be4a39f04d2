// Users API on Azure: Flex Consumption Functions app + Azure SQL (serverless) or Azure Database for PostgreSQL
// Flexible Server + Application Insights, passwordless. The app's scale-out is sized to the database (app/capacity.bicep).
// Subscription scope, as azd expects: this template creates the resource group and deploys everything into it.
//   azd provision                    (parameters from main.parameters.json and the azd environment)
//   az deployment sub create -l <region> -f infra/main.bicep -p environmentName=<env> location=<region> ...
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd: AZURE_ENV_NAME); it seeds every generated resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// Names: generated from an abbreviation and a token unique to subscription + environment + region; each overridable.
param resourceGroupName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param storageAccountName string = ''
param appIdentityName string = ''
param appServicePlanName string = ''
param functionAppName string = ''
param sqlServerName string = ''
param postgreSqlServerName string = ''

@description('The database the app uses, on either engine\'s server.')
param databaseName string = 'users'

@description('The database: Azure SQL Database (serverless) or Azure Database for PostgreSQL Flexible Server.')
@allowed([
  'AzureSql'
  'PostgreSql'
])
param databaseEngine string = 'AzureSql'

@description('Object id of the database\'s Entra admin (Azure SQL or PostgreSQL): the principal that deploys (runs the migration bundle and the grant script). Never the app.')
param databaseAdminObjectId string

@description('Name of the database\'s Entra admin: a user principal name, group name or application (service principal) name.')
param databaseAdminLogin string

@allowed([
  'User'
  'Group'
  'Application'
])
param databaseAdminPrincipalType string = 'User'

@description('Public endpoint of the database server. When enabled, only the "Allow Azure services" rule (0.0.0.0) is created.')
@allowed([
  'Enabled'
  'Disabled'
])
param databasePublicNetworkAccess string = 'Enabled'

@description('Azure SQL size: General Purpose serverless, GP_S_Gen5_<max vCores>. It sizes the app too (app/capacity.bicep).')
@allowed([
  'GP_S_Gen5_1'
  'GP_S_Gen5_2'
  'GP_S_Gen5_4'
  'GP_S_Gen5_6'
  'GP_S_Gen5_8'
  'GP_S_Gen5_10'
  'GP_S_Gen5_12'
  'GP_S_Gen5_14'
  'GP_S_Gen5_16'
])
param sqlDatabaseSkuName string = 'GP_S_Gen5_1'

@description('Minutes of inactivity before the serverless database pauses (60 or more; -1 never pauses).')
param sqlAutoPauseDelayMinutes int = 60

@description('Minimum vCores of the serverless database, e.g. \'1\'; empty: the smallest its size accepts.')
param sqlMinCapacity string = ''

@allowed([
  'Local'
  'Zone'
  'Geo'
  'GeoZone'
])
param sqlBackupStorageRedundancy string = 'Local'

@description('PostgreSQL size (Burstable B*, General Purpose D*). It sizes the app too (app/capacity.bicep).')
@allowed([
  'Standard_B2s'
  'Standard_B2ms'
  'Standard_D2ds_v5'
  'Standard_D4ds_v5'
  'Standard_D8ds_v5'
])
param postgreSqlSkuName string = 'Standard_B2s'

@allowed([
  '16'
  '17'
])
param postgreSqlVersion string = '16'

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Flex Consumption scale-out; the capacity plan lowers it to what the database can serve.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Concurrent HTTP requests per instance (the platform default at 2,048 MB is 16); also each instance\'s Max Pool Size. The capacity plan lowers it if the database is smaller.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('The lowest maximumInstanceCount Flex Consumption accepts in the region: 40 in most; set 1 where lower values are enabled to get fewer, busier instances on a small database.')
@minValue(1)
@maxValue(1000)
param flexLowestMaximumInstanceCount int = 40

@description('Who may call the users operations: FunctionKeys (a function key alone) or EntraId (the key and a Microsoft Entra ID access token with an app role; docs/auth.md).')
@allowed([
  'FunctionKeys'
  'EntraId'
])
param authMode string = 'FunctionKeys'

@description('EntraId mode: the token issuer, https://login.microsoftonline.com/<tenant id>/v2.0; empty: this tenant\'s.')
param authAuthority string = ''

@description('EntraId mode: the API app registration\'s application (client) id, the aud of its v2 access tokens (deploy/azd-app-registration.sh sets it).')
param authAudience string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var deploymentContainerName = 'app-package-${resourceToken}'
var isAzureSql = databaseEngine == 'AzureSql'
// The smallest minimum vCores each serverless size accepts (0.5, then max vCores / 8).
var sqlSmallestMinCapacity = {
  GP_S_Gen5_1: '0.5'
  GP_S_Gen5_2: '0.5'
  GP_S_Gen5_4: '0.5'
  GP_S_Gen5_6: '0.75'
  GP_S_Gen5_8: '1'
  GP_S_Gen5_10: '1.25'
  GP_S_Gen5_12: '1.5'
  GP_S_Gen5_14: '1.75'
  GP_S_Gen5_16: '2'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    deploymentContainerName: deploymentContainerName
  }
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    location: location
    tags: tags
    identityName: !empty(appIdentityName) ? appIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  }
}

module capacity 'app/capacity.bicep' = {
  name: 'capacity'
  scope: rg
  params: {
    databaseEngine: databaseEngine
    sqlDatabaseSkuName: sqlDatabaseSkuName
    postgreSqlSkuName: postgreSqlSkuName
    requestedPerInstanceConcurrency: httpPerInstanceConcurrency
    requestedMaximumInstanceCount: maximumInstanceCount
    lowestMaximumInstanceCount: flexLowestMaximumInstanceCount
  }
}

module azureSql 'app/azuresql.bicep' = if (isAzureSql) {
  name: 'azuresql'
  scope: rg
  params: {
    location: location
    tags: tags
    serverName: !empty(sqlServerName) ? sqlServerName : '${abbrs.sqlServers}${resourceToken}'
    databaseName: databaseName
    adminObjectId: databaseAdminObjectId
    adminLogin: databaseAdminLogin
    adminPrincipalType: databaseAdminPrincipalType
    publicNetworkAccess: databasePublicNetworkAccess
    skuName: sqlDatabaseSkuName
    autoPauseDelayMinutes: sqlAutoPauseDelayMinutes
    minCapacity: !empty(sqlMinCapacity) ? sqlMinCapacity : sqlSmallestMinCapacity[sqlDatabaseSkuName]
    backupStorageRedundancy: sqlBackupStorageRedundancy
  }
}

module postgreSql 'app/postgresql.bicep' = if (!isAzureSql) {
  name: 'postgresql'
  scope: rg
  params: {
    location: location
    tags: tags
    serverName: !empty(postgreSqlServerName) ? postgreSqlServerName : '${abbrs.dBforPostgreSQLServers}${resourceToken}'
    databaseName: databaseName
    adminObjectId: databaseAdminObjectId
    adminLogin: databaseAdminLogin
    adminPrincipalType: databaseAdminPrincipalType
    publicNetworkAccess: databasePublicNetworkAccess
    skuName: postgreSqlSkuName
    version: postgreSqlVersion
    maxConnections: capacity.outputs.postgreSqlMaxConnections
  }
}

var databaseServerName = isAzureSql ? azureSql!.outputs.serverName : postgreSql!.outputs.serverName
var databaseServerFqdn = isAzureSql ? azureSql!.outputs.serverFqdn : postgreSql!.outputs.serverFqdn

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.storageAccountName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    functionAppName: !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}api-${resourceToken}'
    identityId: identity.outputs.identityId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.storageAccountName
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    databaseEngine: databaseEngine
    databaseServerFqdn: databaseServerFqdn
    databaseName: databaseName
    identityName: identity.outputs.identityName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: capacity.outputs.maximumInstanceCount
    perInstanceConcurrency: capacity.outputs.perInstanceConcurrency
    maxPoolSize: capacity.outputs.maxPoolSize
    authMode: authMode
    authAuthority: !empty(authAuthority) ? authAuthority : '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    authAudience: authAudience
  }
  // The host must be able to reach its storage on first start.
  dependsOn: [
    rbac
  ]
}

// UPPER_SNAKE outputs: azd writes them to the environment; pipelines read them from the deployment.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = api.outputs.functionAppName
output API_BASE_URL string = 'https://${api.outputs.defaultHostName}/api'
output DATABASE_ENGINE string = databaseEngine
// DATABASE_* name the database server and database whichever the engine.
output DATABASE_SERVER_NAME string = databaseServerName
output DATABASE_SERVER_FQDN string = databaseServerFqdn
output DATABASE_NAME string = databaseName
// The Azure SQL server's own identity: it needs Directory Readers when a service principal runs the grant (empty for
// PostgreSQL, which maps the app's role by object id).
output SQL_SERVER_PRINCIPAL_ID string = isAzureSql ? azureSql!.outputs.serverPrincipalId : ''
// The capacity plan's result, for docs/deploy.md's arithmetic and for whoever sizes the next step.
output DATABASE_CONNECTION_LIMIT int = capacity.outputs.databaseLimit
output APP_MAXIMUM_INSTANCE_COUNT int = capacity.outputs.maximumInstanceCount
output APP_PER_INSTANCE_CONCURRENCY int = capacity.outputs.perInstanceConcurrency
output APP_MAX_POOL_SIZE int = capacity.outputs.maxPoolSize
output APP_IDENTITY_NAME string = identity.outputs.identityName
output APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output STORAGE_ACCOUNT_NAME string = storage.outputs.storageAccountName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AUTH_MODE string = authMode
