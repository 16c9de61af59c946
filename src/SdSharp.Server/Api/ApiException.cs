using System.Text.Json;

namespace SdSharp.Server.Api;

/// <summary>
/// A client error with its HTTP status, answered with A1111's error body. <see cref="Issues"/> is set for request
/// validation failures (422), whose <c>detail</c> is pydantic's list of {loc, msg, type} as FastAPI sends it.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException(int status, string detail) : base(detail) => Status = status;

    private ApiException(IReadOnlyList<ValidationIssue> issues, string summary) : base(summary)
    {
        Status = 422;
        Issues = issues;
    }

    public int Status { get; }
    public IReadOnlyList<ValidationIssue>? Issues { get; }

    /// <summary>A 422 for one field: <paramref name="field"/> null means the body as a whole.</summary>
    public static ApiException Invalid(string? field, string message, string type = "value_error") =>
        At(field == null ? [] : [Json.Of(field)], message, type);

    /// <summary>A 422 at a place in the body: field names and list indexes, as pydantic locates errors.</summary>
    public static ApiException At(IEnumerable<JsonElement> loc, string message, string type = "value_error") =>
        Invalid(new ValidationIssue { Loc = [Json.Of("body"), .. loc], Msg = message, Type = type });

    public static ApiException Invalid(ValidationIssue issue) =>
        new([issue], $"{string.Join(".", issue.Loc.Select(l => l.ToString()))}: {issue.Msg}");

    public ErrorBody ToBody()
    {
        if (Issues != null)
            return new ErrorBody
            {
                Error = "RequestValidationError",
                Detail = JsonSerializer.SerializeToElement([.. Issues], ApiJson.Web.ListValidationIssue),
                Errors = Message,
            };
        // Starlette's str(HTTPException) is "status: detail".
        return new ErrorBody
        {
            Error = "HTTPException",
            Detail = JsonSerializer.SerializeToElement(Message, ApiJson.Web.String),
            Errors = $"{Status}: {Message}",
        };
    }
}
