package testenv

// RedirectVariants are next values as an attacker writes them in a URL's
// query (the exact bytes): every way known to make a browser leave a site
// through a redirect to a "local" path — scheme-relative and backslash
// forms, escapes decoded once or twice, control characters browsers drop,
// NUL and DEL, schemes, Unicode slash look-alikes, header injection.
var RedirectVariants = []string{
	"//evil.example", "/\\evil.example", "\\\\evil.example", "%2F%2Fevil.example", "/%2F/evil.example",
	"/%09/evil.example", "/%2509/evil.example", "%09//evil.example", "/%0A/evil.example", "/%0D%0A/evil.example",
	"/%00/evil.example", "/%7F/evil.example", "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example",
	"javascript:alert(1)", "JaVaScRiPt%3Aalert(1)", "http://evil.example/", "https:evil.example", "%20//evil.example",
	"/%EF%BC%8F/evil.example", "/%EF%BC%8Fevil.example", "/%E2%88%95evil.example", "%E2%81%84%E2%81%84evil.example",
	"/tasks%0D%0ALocation:%20//evil.example", "///evil.example", "/.//evil.example", "/tasks?x=//evil.example",
}
