using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using UserFunctions.Core.Health;
using UserFunctions.Core.Users;

namespace UserFunctions.Core.Http;

// Source-generated metadata: no reflection when reading or writing bodies. Reading is strict: unknown members,
// duplicate members and wrong JSON types are errors, never silently ignored or coerced.
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(UserRequest))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(UserPage))]
[JsonSerializable(typeof(HealthStatus))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
