// The Functions app on a Flex Consumption (FC1) plan, .NET 10 isolated worker, user-assigned identity only.
// Every connection is identity-based: storage, Application Insights and the database carry no key or password.
// Scale-out, per-instance concurrency and the connection pool come from the capacity plan (capacity.bicep).

param location string
param tags object
param planName string
param functionAppName string
param identityId string
param identityClientId string
param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string

@allowed([
  'AzureSql'
  'PostgreSql'
])
param databaseEngine string
param databaseServerFqdn string
param databaseName string

@description('Name of the app\'s identity: its PostgreSQL role has this name.')
param identityName string

@description('Max Pool Size of the connection string: at most one connection per concurrent request.')
@minValue(1)
param maxPoolSize int

@minValue(1)
@maxValue(1000)
param perInstanceConcurrency int

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('FunctionKeys or EntraId (docs/auth.md).')
@allowed([
  'FunctionKeys'
  'EntraId'
])
param authMode string = 'FunctionKeys'

@description('EntraId mode: the token issuer whose OpenID metadata names its signing keys.')
param authAuthority string = ''

@description('EntraId mode: the aud of the access tokens, the API app registration\'s application (client) id.')
param authAudience string = ''


var connectionString = databaseEngine == 'AzureSql'
  ? 'Server=tcp:${databaseServerFqdn},1433;Database=${databaseName};Encrypt=True;Max Pool Size=${maxPoolSize};'
  : 'Host=${databaseServerFqdn};Database=${databaseName};Username=${identityName};SSL Mode=VerifyFull;Maximum Pool Size=${maxPoolSize};'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        triggers: {
          http: {
            perInstanceConcurrency: perInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION: functionAppConfig.runtime says it.
      appSettings: [
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storageAccountName
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsightsConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        {
          // The app signs in to the database as this identity (SqlClient's Active Directory Managed Identity, Npgsql's token password).
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'Database__Provider'
          value: databaseEngine
        }
        {
          // Passwordless: no password (and for Azure SQL no Authentication keyword); the app signs in with its Entra identity.
          name: 'ConnectionStrings__Users'
          value: connectionString
        }
        {
          // FunctionKeys: the host's function key alone. EntraId: the app also validates an access token and checks its
          // app role itself (docs/auth.md); the function key stays required by the host either way.
          name: 'Auth__Mode'
          value: authMode
        }
        {
          // Read in EntraId mode only.
          name: 'Auth__Authority'
          value: authAuthority
        }
        {
          name: 'Auth__Audience'
          value: authAudience
        }
      ]
    }
  }
}

// No FTP and no SCM basic-auth publishing credentials: deployments authenticate with Entra.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output functionAppName string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
