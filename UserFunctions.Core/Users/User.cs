using System.ComponentModel.DataAnnotations;

namespace UserFunctions.Core.Users;

/// <summary>A stored user. Request and response bodies never bind to this type. Column lengths are the attributes (EF reads them).</summary>
public sealed class User
{
    public const int UsernameMaxLength = 80;
    public const int EmailMaxLength = 120;

    public int Id { get; private set; }

    [MaxLength(UsernameMaxLength)]
    public string Username { get; private set; } = "";

    [MaxLength(EmailMaxLength)]
    public string Email { get; private set; } = "";

    // Upper-cased copies carry the unique indexes, so uniqueness is case-insensitive on every provider,
    // whatever the database's collation.
    [MaxLength(UsernameMaxLength)]
    public string NormalizedUsername { get; private set; } = "";

    [MaxLength(EmailMaxLength)]
    public string NormalizedEmail { get; private set; } = "";

    public DateTime CreatedAt { get; private set; }
    public DateTime UpdatedAt { get; private set; }

    /// <summary>Concurrency token behind the ETag; replaced on every update.</summary>
    public Guid Version { get; private set; }

    /// <param name="valid">A request that passed <see cref="UserValidation.TryValidate"/>.</param>
    public static User Create(UserRequest valid, DateTime now)
    {
        var user = new User { CreatedAt = now };
        user.Replace(valid, now);
        return user;
    }

    /// <param name="valid">A request that passed <see cref="UserValidation.TryValidate"/>.</param>
    public void Replace(UserRequest valid, DateTime now)
    {
        Username = valid.Username!;
        NormalizedUsername = Normalize(Username);
        Email = valid.Email!;
        NormalizedEmail = Normalize(Email);
        UpdatedAt = now;
        Version = Guid.NewGuid();
    }

    public static string Normalize(string value) => value.ToUpperInvariant();
}
