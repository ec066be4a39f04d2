using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using UserFunctions.Core.Users;

namespace UserFunctions.Core.Data;

internal sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> user)
    {
        user.ToTable("Users");
        user.HasKey(u => u.Id);

        user.Property(u => u.Version).IsConcurrencyToken();

        // The names matter: DatabaseErrors maps a unique violation to its field by them.
        user.HasIndex(u => u.NormalizedUsername).IsUnique().HasDatabaseName(IndexNames.Username);
        user.HasIndex(u => u.NormalizedEmail).IsUnique().HasDatabaseName(IndexNames.Email);
    }

    internal static class IndexNames
    {
        public const string Username = "IX_Users_NormalizedUsername";
        public const string Email = "IX_Users_NormalizedEmail";
    }
}
