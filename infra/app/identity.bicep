// The app's user-assigned identity: storage, telemetry and the database (an Azure SQL user in db_datareader +
// db_datawriter, or a PostgreSQL role with row rights).

param location string
param tags object
param identityName string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

output identityId string = identity.id
output identityName string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
