using System.ComponentModel.DataAnnotations;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.EntityFrameworkCore.Query;

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

    /// <summary>The version behind the ETag; replaced on every update.</summary>
    public Guid Version { get; private set; }

    /// <param name="valid">A request that passed <see cref="UserValidation"/>, all of it.</param>
    public static User Create(UserRequest valid, DateTime now)
    {
        var user = new User { CreatedAt = now };
        user.Replace(valid, now);
        return user;
    }

    /// <summary>
    /// A stored user known by its id alone, to attach unchanged and update without reading it first: EF then writes only the
    /// columns <see cref="Replace"/> sets and reads the others the model marks back from the same <c>UPDATE</c> (UserConfiguration).
    /// </summary>
    public static User Stub(int id) => new() { Id = id };

    /// <summary>Replaces this (tracked) user's columns with <paramref name="valid"/>'s; a null member keeps its stored column.</summary>
    /// <param name="valid">A request that passed <see cref="UserValidation"/>: all of it, or (a merge patch) the members it names.</param>
    public void Replace(UserRequest valid, DateTime now) => WriteReplacement(new EntityColumns(this), valid, now, Guid.NewGuid());

    /// <summary>
    /// The one rule for the columns a create, a replacement or a patch writes (a new column goes here, and only here): onto an
    /// entity (<see cref="Create"/>, <see cref="Replace"/>), or into the setters of an <c>ExecuteUpdate</c> (<see cref="ReplacementSetters"/>).
    /// A member that is null (one a merge patch leaves out; validation lets no other null through) leaves its columns as they are.
    /// </summary>
    private static void WriteReplacement<TColumns>(TColumns columns, UserRequest valid, DateTime now, Guid version)
        where TColumns : IColumns
    {
        if (valid.Username is { } username)
        {
            columns.Set(Columns.Username, username);
            columns.Set(Columns.NormalizedUsername, Normalize(username));
        }

        if (valid.Email is { } email)
        {
            columns.Set(Columns.Email, email);
            columns.Set(Columns.NormalizedEmail, Normalize(email));
        }

        columns.Set(Columns.UpdatedAt, now);
        columns.Set(Columns.Version, version);
    }

    // Built once: a lambda written at the call would build its expression tree on every create and update.
    private static class Columns
    {
        public static readonly Expression<Func<User, string>> Username = u => u.Username;
        public static readonly Expression<Func<User, string>> NormalizedUsername = u => u.NormalizedUsername;
        public static readonly Expression<Func<User, string>> Email = u => u.Email;
        public static readonly Expression<Func<User, string>> NormalizedEmail = u => u.NormalizedEmail;
        public static readonly Expression<Func<User, DateTime>> UpdatedAt = u => u.UpdatedAt;
        public static readonly Expression<Func<User, Guid>> Version = u => u.Version;
    }

    /// <summary>The setters of an <c>ExecuteUpdate</c> that replaces a user's columns with <paramref name="valid"/>'s, as <see cref="Replace"/> does.</summary>
    /// <param name="valid">A request that passed <see cref="UserValidation"/>: all of it, or (a merge patch) the members it names.</param>
    /// <param name="version">The new <see cref="Version"/>.</param>
    public static Action<UpdateSettersBuilder<User>> ReplacementSetters(UserRequest valid, DateTime now, Guid version) =>
        setters => WriteReplacement(new SetterColumns(setters), valid, now, version);

    public static string Normalize(string value) => value.ToUpperInvariant();

    private interface IColumns
    {
        void Set<TValue>(Expression<Func<User, TValue>> column, TValue value);
    }

    private readonly struct EntityColumns(User user) : IColumns
    {
        public void Set<TValue>(Expression<Func<User, TValue>> column, TValue value) =>
            ((PropertyInfo)((MemberExpression)column.Body).Member).SetValue(user, value);
    }

    private readonly struct SetterColumns(UpdateSettersBuilder<User> setters) : IColumns
    {
        public void Set<TValue>(Expression<Func<User, TValue>> column, TValue value) => setters.SetProperty(column, value);
    }
}
