using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace UserFunctions.Core.Http;

/// <summary>JSON merge patch (RFC 7396) of a resource's writable members, whatever they are.</summary>
internal static class JsonMergePatch
{
    /// <summary>
    /// The patch's values, checked up front without the resource: each member must be a member of <paramref name="target"/>,
    /// of its type or null. A member the patch removes (null) and one it leaves out are both null here; the patch itself
    /// (<see cref="JsonObject.ContainsKey"/>, which compares names as the patch does, case-insensitively) tells which it names.
    /// </summary>
    /// <exception cref="JsonException">A member is unknown or of the wrong type; its path says which.</exception>
    public static TTarget Read<TTarget>(JsonObject patch, JsonTypeInfo<TTarget> target)
    {
        var present = new JsonObject();
        foreach (var (name, value) in patch)
        {
            if (value is not null)
            {
                present[name] = value.DeepClone();
            }
        }

        return present.Deserialize(target)!;
    }
}
