using System.Text.Json.Serialization;

namespace UserFunctions.Core.Users;

public sealed record UserResponse(int Id, string Username, string Email, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record UserPage(IReadOnlyList<UserResponse> Items, string? Next);

/// <summary>Body of POST and PUT. Both fields are nullable so that a missing one is a validation error, not a parse error.</summary>
public sealed record UserRequest(string? Username, string? Email);

/// <summary>Body of PATCH (JSON merge patch): remembers which members were present, since null means "remove".</summary>
public sealed class UserPatchRequest
{
    public string? Username
    {
        get;
        set
        {
            field = value;
            HasUsername = true;
        }
    }

    public string? Email
    {
        get;
        set
        {
            field = value;
            HasEmail = true;
        }
    }

    [JsonIgnore]
    public bool HasUsername { get; private set; }

    [JsonIgnore]
    public bool HasEmail { get; private set; }
}

/// <summary>A user read for a response, with the version behind its ETag.</summary>
internal sealed record VersionedUser(UserResponse User, Guid Version);

internal static class UserMapping
{
    public static UserResponse ToResponse(this User user) =>
        new(user.Id, user.Username, user.Email, user.CreatedAt, user.UpdatedAt);
}
