// Azure SQL logical server with Entra-only authentication and a serverless database.
// The server's Entra admin is the deployment principal (it runs the migration bundle and the grant script); the app's
// identity is only ever a database user with db_datareader + db_datawriter (deploy/azuresql/grant-app-user.sql).

param location string
param tags object
param serverName string
param databaseName string

@description('Object id of the Entra principal that administers the server (the deploying user, group or service principal).')
param adminObjectId string

@description('Display name of that principal: a user principal name, a group name or an application name.')
param adminLogin string

@allowed([
  'User'
  'Group'
  'Application'
])
param adminPrincipalType string

@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Serverless service objective, GP_S_Gen5_<max vCores>; infra/app/capacity.bicep sizes the app from it.')
param skuName string

@description('Minutes of inactivity before a serverless database pauses; -1 never pauses.')
param autoPauseDelayMinutes int

@description('Minimum vCores of a serverless database, as a string (e.g. "0.5").')
param minCapacity string

@allowed([
  'Local'
  'Zone'
  'Geo'
  'GeoZone'
])
param backupStorageRedundancy string

resource server 'Microsoft.Sql/servers@2023-08-01' = {
  name: serverName
  location: location
  tags: tags
  // Lets the server look principals up in Microsoft Graph once a tenant admin grants it Directory Readers:
  // needed when a service principal (a pipeline) runs CREATE USER ... FROM EXTERNAL PROVIDER. See docs/deploy.md.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    version: '12.0'
    minimalTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      principalType: adminPrincipalType
      tenantId: tenant().tenantId
    }
  }
}

// "Allow Azure services and resources to access this server": the special 0.0.0.0 - 0.0.0.0 rule, never an IP range.
resource allowAzureServices 'Microsoft.Sql/servers/firewallRules@2023-08-01' = if (publicNetworkAccess == 'Enabled') {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource database 'Microsoft.Sql/servers/databases@2023-08-01' = {
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: 'GeneralPurpose'
  }
  properties: {
    collation: 'SQL_Latin1_General_CP1_CI_AS'
    autoPauseDelay: autoPauseDelayMinutes
    minCapacity: json(minCapacity)
    requestedBackupStorageRedundancy: backupStorageRedundancy
    zoneRedundant: false
  }
}

output serverName string = server.name
output serverFqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
output serverPrincipalId string = server.identity.principalId
