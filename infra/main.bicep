// Users API on Azure: Flex Consumption Functions app + Azure SQL (serverless) + Application Insights, passwordless.
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
param sqlDatabaseName string = 'users'

@description('Object id of the SQL Entra admin: the principal that deploys (runs the migration bundle and the grant script). Never the app.')
param sqlAdminObjectId string

@description('Name of the SQL Entra admin: a user principal name, group name or application (service principal) name.')
param sqlAdminLogin string

@allowed([
  'User'
  'Group'
  'Application'
])
param sqlAdminPrincipalType string = 'User'

@description('Public endpoint of the SQL server. When enabled, only the "Allow Azure services" rule (0.0.0.0) is created.')
@allowed([
  'Enabled'
  'Disabled'
])
param sqlPublicNetworkAccess string = 'Enabled'

@description('Database SKU; GP_S_* is General Purpose serverless.')
param sqlDatabaseSku object = {
  name: 'GP_S_Gen5_1'
  tier: 'GeneralPurpose'
}

@description('Minutes of inactivity before the serverless database pauses (60 or more; -1 never pauses).')
param sqlAutoPauseDelayMinutes int = 60

@description('Minimum vCores of the serverless database.')
param sqlMinCapacity string = '0.5'

@allowed([
  'Local'
  'Zone'
  'Geo'
  'GeoZone'
])
param sqlBackupStorageRedundancy string = 'Local'

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Flex Consumption scale-out.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var deploymentContainerName = 'app-package-${resourceToken}'

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

module db 'app/db.bicep' = {
  name: 'db'
  scope: rg
  params: {
    location: location
    tags: tags
    sqlServerName: !empty(sqlServerName) ? sqlServerName : '${abbrs.sqlServers}${resourceToken}'
    databaseName: sqlDatabaseName
    adminObjectId: sqlAdminObjectId
    adminLogin: sqlAdminLogin
    adminPrincipalType: sqlAdminPrincipalType
    publicNetworkAccess: sqlPublicNetworkAccess
    databaseSku: sqlDatabaseSku
    autoPauseDelayMinutes: sqlAutoPauseDelayMinutes
    minCapacity: sqlMinCapacity
    backupStorageRedundancy: sqlBackupStorageRedundancy
  }
}

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
    sqlServerFqdn: db.outputs.sqlServerFqdn
    databaseName: db.outputs.databaseName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
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
output SQL_SERVER_NAME string = db.outputs.sqlServerName
output SQL_SERVER_FQDN string = db.outputs.sqlServerFqdn
output SQL_DATABASE_NAME string = db.outputs.databaseName
output SQL_SERVER_PRINCIPAL_ID string = db.outputs.sqlServerPrincipalId
output APP_IDENTITY_NAME string = identity.outputs.identityName
output APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output STORAGE_ACCOUNT_NAME string = storage.outputs.storageAccountName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
