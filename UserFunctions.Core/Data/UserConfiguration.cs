using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using UserFunctions.Core.Users;

namespace UserFunctions.Core.Data;

internal sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> user)
    {
        user.ToTable("Users");
        user.HasKey(u => u.Id);

        // An update writes only the columns it sets, and is a stub of the user (UserWrites): the response's columns it leaves
        // as stored come back from the same UPDATE (RETURNING, or OUTPUT on SQL Server). EF reads a column generated on update
        // when the update leaves it unmodified, and writes it when set (AfterSaveBehavior Save); inserts write all of them.
        // Version is no concurrency token: EF would put its original value into every tracked UPDATE's WHERE, and the update
        // without If-Match does not know it; If-Match is checked by an ExecuteUpdate guarded by the version read.
        UpdatedOrReadBack(user.Property(u => u.CreatedAt));
        UpdatedOrReadBack(user.Property(u => u.Username));
        UpdatedOrReadBack(user.Property(u => u.Email));

        // The names matter: DatabaseErrors maps a unique violation to its field by them.
        user.HasIndex(u => u.NormalizedUsername).IsUnique().HasDatabaseName(IndexNames.Username);
        user.HasIndex(u => u.NormalizedEmail).IsUnique().HasDatabaseName(IndexNames.Email);
    }

    private static void UpdatedOrReadBack<TProperty>(PropertyBuilder<TProperty> property) =>
        property.ValueGeneratedOnUpdate().Metadata.SetAfterSaveBehavior(PropertySaveBehavior.Save);

    internal static class IndexNames
    {
        public const string Username = "IX_Users_NormalizedUsername";
        public const string Email = "IX_Users_NormalizedEmail";
    }
}
