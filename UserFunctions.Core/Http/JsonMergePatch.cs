using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace UserFunctions.Core.Http;

/// <summary>JSON merge patch (RFC 7396) of a resource's writable members, whatever they are.</summary>
internal static class JsonMergePatch
{
    /// <summary>
    /// Checks a patch's members up front, without the resource: each must be a member of <paramref name="target"/>, of its
    /// type or null (null removes it, which validation then judges).
    /// </summary>
    /// <exception cref="JsonException">A member is unknown or of the wrong type; its path says which.</exception>
    public static void CheckMembers<TTarget>(JsonObject patch, JsonTypeInfo<TTarget> target)
    {
        var present = new JsonObject();
        foreach (var (name, value) in patch)
        {
            if (value is not null)
            {
                present[name] = value.DeepClone();
            }
        }

        present.Deserialize(target);
    }

    /// <summary>
    /// The writable members of <paramref name="current"/> (those it shares with <typeparamref name="TTarget"/>) with the
    /// patch applied.
    /// </summary>
    public static TTarget Apply<TCurrent, TTarget>(TCurrent current, JsonTypeInfo<TCurrent> currentType, JsonObject patch, JsonTypeInfo<TTarget> target)
    {
        var currentMembers = JsonSerializer.SerializeToNode(current, currentType)!.AsObject();
        // Compares names as the patch does (case-insensitively), so that "USERNAME" replaces or removes "username".
        var merged = new JsonObject(patch.Options);
        foreach (var property in target.Properties)
        {
            if (currentMembers.TryGetPropertyValue(property.Name, out var value))
            {
                merged[property.Name] = value?.DeepClone();
            }
        }

        foreach (var (name, value) in patch)
        {
            if (value is null)
            {
                merged.Remove(name);
            }
            else
            {
                merged[name] = value.DeepClone();
            }
        }

        return merged.Deserialize(target)!;
    }
}
