// Azure Database for PostgreSQL Flexible Server with Entra-only authentication (password authentication disabled).
// The Entra admin is the deployment principal (it runs the migration bundle and the grant); the app's identity is only
// ever a role with row rights on the Users database (deploy/postgresql/*.sql, run by deploy/update-database.sh).

param location string
param tags object
param serverName string
param databaseName string

@description('Object id of the Entra principal that administers the server (the deploying user, group or service principal).')
param adminObjectId string

@description('Its name as PostgreSQL sees it: user principal name, group name or application (service principal) name.')
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

@description('Compute SKU, e.g. Standard_B2s (Burstable) or Standard_D2ds_v5 (General Purpose).')
param skuName string

@description('max_connections, from the capacity plan (infra/app/capacity.bicep).')
@minValue(25)
@maxValue(5000)
param maxConnections int

@allowed([
  '16'
  '17'
])
param version string = '16'

@minValue(32)
param storageSizeGB int = 32

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: startsWith(skuName, 'Standard_B') ? 'Burstable' : 'GeneralPurpose'
  }
  properties: {
    version: version
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: publicNetworkAccess
    }
    // Entra only: no administrator login, no password anywhere.
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
  }
}

resource admin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: adminObjectId
  properties: {
    principalType: adminPrincipalType == 'Application' ? 'ServicePrincipal' : adminPrincipalType
    principalName: adminLogin
    tenantId: tenant().tenantId
  }
}

// Server parameters one after another: the server accepts one configuration change at a time.
resource requireTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: server
  name: 'require_secure_transport'
  properties: {
    value: 'on'
    source: 'user-override'
  }
  dependsOn: [
    admin
  ]
}

resource minimumTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: server
  name: 'ssl_min_protocol_version'
  properties: {
    value: 'TLSv1.2'
    source: 'user-override'
  }
  dependsOn: [
    requireTls
  ]
}

// Set explicitly, so the capacity plan's number is the server's own. It is the SKU's documented default, so a new server
// needs no restart for it; max_connections is static, so after a change of SKU it applies once the server restarts
// (a compute change restarts it).
resource connections 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: server
  name: 'max_connections'
  properties: {
    value: string(maxConnections)
    source: 'user-override'
  }
  dependsOn: [
    minimumTls
  ]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
  dependsOn: [
    connections
  ]
}

// "Allow public access from any Azure service": the special 0.0.0.0 - 0.0.0.0 rule, never an IP range. The deployment
// adds the runner's own address for the duration of the database step (deploy/update-database.sh).
resource allowAzureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = if (publicNetworkAccess == 'Enabled') {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
  dependsOn: [
    database
  ]
}

output serverName string = server.name
output serverFqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
