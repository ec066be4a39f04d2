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

        // An update saves a stub of the user (UserWrites): EF writes the columns it sets and, of these columns generated on
        // update, reads back the ones it leaves (RETURNING, or OUTPUT on SQL Server), which the response needs; AfterSaveBehavior
        // Save keeps a set one written, and inserts write them all. Version is no concurrency token: EF would put its original
        // value into every tracked UPDATE's WHERE, and an update without If-Match does not know it (If-Match guards an ExecuteUpdate).
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
