using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace UserFunctions.Core.Data;

internal sealed class IdempotencyKeyConfiguration : IEntityTypeConfiguration<IdempotencyKey>
{
    public void Configure(EntityTypeBuilder<IdempotencyKey> key)
    {
        key.ToTable("IdempotencyKeys");
        key.HasKey(k => k.Key);

        key.Property(k => k.Key).HasMaxLength(IdempotencyKey.KeyMaxLength);
        key.Property(k => k.Fingerprint).HasMaxLength(IdempotencyKey.FingerprintLength);
        key.Property(k => k.Location).HasMaxLength(IdempotencyKey.LocationMaxLength);
        key.Property(k => k.ETag).HasMaxLength(IdempotencyKey.ETagMaxLength);

        // Expired keys are deleted by age.
        key.HasIndex(k => k.ClaimedAt);
    }
}
