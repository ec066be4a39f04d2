using System.Linq.Expressions;
using System.Text.Json.Serialization;

namespace UserFunctions.Core.Users;

/// <summary>Body of POST and PUT, and the shape a PATCH merges into. Members are nullable so that a missing one is a validation error, not a parse error.</summary>
public sealed record UserRequest(string? Username, string? Email);

public sealed record UserResponse(int Id, string Username, string Email, DateTime CreatedAt, DateTime UpdatedAt)
{
    /// <summary>The version behind the response's ETag; never part of the body.</summary>
    [JsonIgnore]
    public Guid Version { get; init; }

    /// <summary>The one mapping from a stored user: compiled queries project with it and writes answer with it.</summary>
    internal static readonly Expression<Func<User, UserResponse>> FromUser = u =>
        new UserResponse(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt) { Version = u.Version };
}

public sealed record UserPage(IReadOnlyList<UserResponse> Items, string? Next);

internal static class UserMapping
{
    private static readonly Func<User, UserResponse> ToResponseCompiled = UserResponse.FromUser.Compile();

    public static UserResponse ToResponse(this User user) => ToResponseCompiled(user);
}
