package models_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"fleettasks/models"
)

// goodQueries are queries that parse, with their canonical form and SQL.
var goodQueries = []struct{ in, canon, sql string }{
	{"productKey = 'p1' AND deviceName LIKE 'lamp-%'", "productKey = 'p1' AND deviceName LIKE 'lamp-%'",
		"((product_key = $4) AND (device_name LIKE $5))"},
	{"productkey='p1'", "productKey = 'p1'", "(product_key = $4)"},
	{"DEVICENAME != 'a' or deviceName <> 'b'", "deviceName != 'a' OR deviceName != 'b'",
		"((device_name <> $4) OR (device_name <> $5))"},
	{"not productKey = 'p1' and deviceName = 'd'", "NOT productKey = 'p1' AND deviceName = 'd'",
		"((NOT (product_key = $4)) AND (device_name = $5))"},
	{"NOT (productKey = 'a' OR productKey = 'b')", "NOT (productKey = 'a' OR productKey = 'b')",
		"(NOT ((product_key = $4) OR (product_key = $5)))"},
	{"(productKey = 'a' OR productKey = 'b') AND deviceName IN ('x', 'it''s')",
		"(productKey = 'a' OR productKey = 'b') AND deviceName IN ('x', 'it''s')",
		"(((product_key = $4) OR (product_key = $5)) AND (device_name IN ($6, $7)))"},
	{"((productKey = 'a'))", "productKey = 'a'", "(product_key = $4)"},
	{"productKey = 'a' OR (productKey = 'b' OR productKey = 'c')", "productKey = 'a' OR productKey = 'b' OR productKey = 'c'",
		"((product_key = $4) OR (product_key = $5) OR (product_key = $6))"},
	{`deviceName LIKE 'a\_b\%c\\'`, `deviceName LIKE 'a\_b\%c\\'`, "(device_name LIKE $4)"},
	{"deviceName = ''", "deviceName = ''", "(device_name = $4)"},
	{"deviceName = 'x; DROP TABLE devices; --'", "deviceName = 'x; DROP TABLE devices; --'", "(device_name = $4)"},
}

func TestParseGroupQuery(t *testing.T) {
	for _, tc := range goodQueries {
		q, err := models.ParseGroupQuery(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := q.String(); got != tc.canon {
			t.Errorf("%s: canonical %s, want %s", tc.in, got, tc.canon)
		}
		if sql, args := q.SQL(3); sql != tc.sql || strings.Count(sql, "$") != len(args) {
			t.Errorf("%s: SQL %s %q, want %s", tc.in, sql, args, tc.sql)
		}
	}
	q, _ := models.ParseGroupQuery("deviceName IN ('x', 'it''s') AND productKey = 'p'")
	if _, args := q.SQL(0); !reflect.DeepEqual(args, []any{"x", "it's", "p"}) {
		t.Errorf("args %q", args)
	}
}

func TestParseGroupQueryErrors(t *testing.T) {
	cases := []struct {
		in  string
		pos int
		msg string
	}{
		{"", 1, "the query is empty"},
		{"   ", 1, "the query is empty"},
		{"productKey = 'p1' AND deviceName LIKE", 38, "expected a string after LIKE, found the end of the query"},
		{"productKey = 'p1' AND deviceName LIKE 5", 39, "unexpected character '5'"},
		{"productKey = p1", 14, "expected a string after =, found p1"},
		{"name = 'x'", 1, `unknown field "name"`},
		{"productKey 'x'", 12, "expected =, !=, LIKE or IN after productKey, found the string 'x'"},
		{"productKey = 'x", 14, "this string has no closing '"},
		{"productKey = 'x' deviceName = 'y'", 18, "expected AND, OR or the end of the query, found deviceName"},
		{"productKey = 'x')", 17, "unexpected ) with no ( to close"},
		{"(productKey = 'x'", 18, "expected ) to close the ( at position 1, found the end of the query"},
		{"productKey = 'x' AND", 21, "expected productKey, deviceName, NOT or ( but found the end of the query"},
		{"AND productKey = 'x'", 1, "expected productKey, deviceName, NOT or ( but found AND"},
		{"deviceName IN 'a'", 15, "expected ( after IN"},
		{"deviceName IN ()", 16, "expected a string after (, found )"},
		{"deviceName IN ('a',)", 20, "expected a string after ,, found )"},
		{"deviceName IN ('a' 'b')", 20, "expected , or ) in the IN list"},
		{`deviceName LIKE 'a\'`, 17, `\ must be followed by %, _ or \`},
		{`deviceName LIKE 'a\b'`, 17, `\ must be followed by %, _ or \`},
		{"deviceName ! 'a'", 12, "unexpected character '!'"},
		{"deviceName = 'lä\x00'", 17, "NUL"},
		{"deviceName = 'ä\xff'", 16, "not valid UTF-8"},
		{strings.Repeat("(", 33) + "productKey = 'x'" + strings.Repeat(")", 33), 33, "deeper than 32"},
		{strings.Repeat("NOT ", 33) + "productKey = 'x'", 129, "deeper than 32"},
	}
	for _, tc := range cases {
		_, err := models.ParseGroupQuery(tc.in)
		var qe *models.QueryError
		if !errors.As(err, &qe) {
			t.Errorf("%q: want a QueryError, got %v", tc.in, err)
			continue
		}
		if qe.Pos != tc.pos || !strings.Contains(qe.Msg, tc.msg) || !strings.HasPrefix(err.Error(), "at position "+strconv.Itoa(tc.pos)+": ") {
			t.Errorf("%q: got %q, want position %d and %q", tc.in, err, tc.pos, tc.msg)
		}
	}
}

// seedQueries are the queries of the fuzz seed corpus.
func seedQueries(t testing.TB) []string {
	files, err := filepath.Glob("testdata/fuzz/FuzzParseGroupQuery/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("seed corpus: %v (%d files)", err, len(files))
	}
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a corpus file of one string", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, s)
	}
	return out
}

// TestGroupQuerySQLOnPostgres runs every query that parses, of the table
// and of the seed corpus, on PostgreSQL over devices that every predicate
// gets evaluated on.
func TestGroupQuerySQLOnPostgres(t *testing.T) {
	db, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "lamp-1", "a_bc", "axbc", "x")
	regProduct(t, r, "p", "it")
	queries := seedQueries(t)
	for _, tc := range goodQueries {
		queries = append(queries, tc.in)
	}
	ran := 0
	for _, s := range queries {
		q, err := models.ParseGroupQuery(s)
		if err != nil {
			continue
		}
		sql, args := q.SQL(1)
		args = append([]any{int64(0)}, args...)
		var n int64
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM devices WHERE id > $1 AND `+sql, args...).Scan(&n); err != nil {
			t.Errorf("%q compiles to %s, which PostgreSQL refuses: %v", s, sql, err)
		}
		ran++
	}
	if ran < 10 {
		t.Fatalf("only %d queries parsed", ran)
	}
	q, _ := models.ParseGroupQuery(`deviceName LIKE 'a\_b%' OR deviceName = 'x'`)
	sql, args := q.SQL(0)
	var names []string
	rows, _ := db.Pool.Query(ctx, `SELECT device_name FROM devices WHERE `+sql+` ORDER BY device_name`, args...)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if strings.Join(names, " ") != "a_bc x" {
		t.Fatalf("matched %q", names)
	}
}

// FuzzParseGroupQuery: the parser never panics, errors carry a position
// inside the input, and a query that parses renders to a canonical form
// that parses back to the same query and the same SQL.
func FuzzParseGroupQuery(f *testing.F) {
	for _, tc := range goodQueries {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := models.ParseGroupQuery(s)
		if err != nil {
			var qe *models.QueryError
			if !errors.As(err, &qe) || qe.Pos < 1 || qe.Pos > utf8.RuneCountInString(s)+1 {
				t.Fatalf("%q: bad error %#v", s, err)
			}
			return
		}
		canon := q.String()
		q2, err := models.ParseGroupQuery(canon)
		if err != nil {
			t.Fatalf("%q parses but its canonical form %q does not: %v", s, canon, err)
		}
		if again := q2.String(); again != canon {
			t.Fatalf("%q: canonical form %q renders again as %q", s, canon, again)
		}
		sql1, args1 := q.SQL(2)
		sql2, args2 := q2.SQL(2)
		if sql1 != sql2 || !reflect.DeepEqual(args1, args2) || strings.Count(sql1, "$") != len(args1) {
			t.Fatalf("%q: SQL %s %q, after a round trip %s %q", s, sql1, args1, sql2, args2)
		}
	})
}
