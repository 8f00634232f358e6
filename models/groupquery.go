package models

// Dynamic group queries.
//
// A dynamic group's members are the devices its query matches, worked out
// each time the group is read. The grammar (keywords and field names are
// case-insensitive):
//
//	expr       := term { OR term }
//	term       := factor { AND factor }
//	factor     := NOT factor | '(' expr ')' | comparison
//	comparison := field op string | field IN '(' string { ',' string } ')'
//	field      := productKey | deviceName
//	op         := '=' | '!=' | '<>' | LIKE
//	string     := single-quoted, '' inside for one quote: 'it''s'
//
// LIKE patterns use SQL's wildcards: % any run of characters, _ exactly one;
// \%, \_ and \\ match those characters literally, and a \ before anything
// else is an error. Example: productKey = 'p1' AND deviceName LIKE 'lamp-%'.
//
// Parsing is a tokenizer and a recursive-descent parser; errors say where,
// e.g. "at position 17: expected a string after LIKE" (positions count
// characters from 1). A parsed query compiles to a SQL boolean expression
// over the devices table whose column names come from a fixed map and whose
// values are all positional parameters: no user text ever enters the SQL.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxGroupQueryDepth bounds the nesting of parentheses and NOTs.
const MaxGroupQueryDepth = 32

// queryFields maps a field, lower-cased, to its canonical spelling, and
// queryColumns that spelling to its column of the devices table.
var (
	queryFields  = map[string]string{"productkey": "productKey", "devicename": "deviceName"}
	queryColumns = map[string]string{"productKey": "product_key", "deviceName": "device_name"}
)

// QueryError is a parse error at a character position (from 1).
type QueryError struct {
	Pos int
	Msg string
}

func (e *QueryError) Error() string { return fmt.Sprintf("at position %d: %s", e.Pos, e.Msg) }

// GroupQuery is a parsed dynamic group query.
type GroupQuery struct{ root *qnode }

type qop int

const (
	qOr qop = iota
	qAnd
	qNot
	qCmp // field cmp values[0]
	qIn  // field IN values
)

// qnode is one node of the syntax tree; AND and OR nodes are kept flat.
type qnode struct {
	op     qop
	kids   []*qnode
	field  string // canonical field name
	cmp    string // "=", "!=" or "LIKE"
	values []string
}

// ParseGroupQuery parses s; the error is a *QueryError saying where.
func ParseGroupQuery(s string) (*GroupQuery, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return nil, &QueryError{Pos: 1, Msg: "the query is empty; e.g. productKey = 'p1' AND deviceName LIKE 'lamp-%'"}
	}
	p := &parser{toks: toks}
	root, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tRParen {
		return nil, &QueryError{Pos: t.pos, Msg: "unexpected ) with no ( to close"}
	} else if t.kind != tEOF {
		return nil, &QueryError{Pos: t.pos, Msg: "expected AND, OR or the end of the query, found " + t.describe()}
	}
	return &GroupQuery{root: root}, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) expr() (*qnode, error) { return p.list(qOr, "OR", p.term) }

func (p *parser) term() (*qnode, error) { return p.list(qAnd, "AND", p.factor) }

// list parses item { keyword item } into one flat node of op.
func (p *parser) list(op qop, keyword string, item func() (*qnode, error)) (*qnode, error) {
	n := &qnode{op: op}
	for {
		x, err := item()
		if err != nil {
			return nil, err
		}
		if x.op == op {
			n.kids = append(n.kids, x.kids...)
		} else {
			n.kids = append(n.kids, x)
		}
		if !p.peek().is(keyword) {
			break
		}
		p.next()
	}
	if len(n.kids) == 1 {
		return n.kids[0], nil
	}
	return n, nil
}

func (p *parser) factor() (*qnode, error) {
	t := p.peek()
	if t.is("NOT") || t.kind == tLParen {
		if p.depth++; p.depth > MaxGroupQueryDepth {
			return nil, &QueryError{Pos: t.pos, Msg: fmt.Sprintf("the query nests deeper than %d levels", MaxGroupQueryDepth)}
		}
		defer func() { p.depth-- }()
		p.next()
	}
	switch {
	case t.is("NOT"):
		x, err := p.factor()
		if err != nil {
			return nil, err
		}
		return &qnode{op: qNot, kids: []*qnode{x}}, nil
	case t.kind == tLParen:
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &QueryError{Pos: c.pos, Msg: fmt.Sprintf("expected ) to close the ( at position %d, found %s", t.pos, c.describe())}
		}
		return x, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (*qnode, error) {
	t := p.next()
	if t.kind != tWord || t.isKeyword() {
		return nil, &QueryError{Pos: t.pos, Msg: "expected productKey, deviceName, NOT or ( but found " + t.describe()}
	}
	field, ok := queryFields[strings.ToLower(t.text)]
	if !ok {
		return nil, &QueryError{Pos: t.pos, Msg: fmt.Sprintf("unknown field %q; the fields are productKey and deviceName", t.text)}
	}
	o := p.next()
	n := &qnode{op: qCmp, field: field}
	switch {
	case o.kind == tEq:
		n.cmp = "="
	case o.kind == tNe:
		n.cmp = "!="
	case o.is("LIKE"):
		n.cmp = "LIKE"
	case o.is("IN"):
		return p.inList(n)
	default:
		return nil, &QueryError{Pos: o.pos, Msg: fmt.Sprintf("expected =, !=, LIKE or IN after %s, found %s", field, o.describe())}
	}
	v := p.next()
	if v.kind != tString {
		return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("expected a string after %s, found %s", n.cmp, v.describe())}
	}
	if n.cmp == "LIKE" {
		if err := checkLike(v); err != nil {
			return nil, err
		}
	}
	n.values = []string{v.text}
	return n, nil
}

// inList parses '(' string { ',' string } ')' after IN.
func (p *parser) inList(n *qnode) (*qnode, error) {
	n.op = qIn
	if t := p.next(); t.kind != tLParen {
		return nil, &QueryError{Pos: t.pos, Msg: "expected ( after IN, found " + t.describe()}
	}
	after := "("
	for {
		v := p.next()
		if v.kind != tString {
			return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("expected a string after %s, found %s", after, v.describe())}
		}
		n.values = append(n.values, v.text)
		switch t := p.next(); t.kind {
		case tRParen:
			return n, nil
		case tComma:
			after = ","
		default:
			return nil, &QueryError{Pos: t.pos, Msg: "expected , or ) in the IN list, found " + t.describe()}
		}
	}
}

// checkLike allows a \ in a LIKE pattern only before %, _ or \.
func checkLike(t token) error {
	rs := []rune(t.text)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '\\' {
			continue
		}
		if i+1 == len(rs) || !strings.ContainsRune(`%_\`, rs[i+1]) {
			return &QueryError{Pos: t.pos, Msg: `in a LIKE pattern \ must be followed by %, _ or \`}
		}
		i++
	}
	return nil
}

// String is the query in canonical form; it parses back to the same query.
func (q *GroupQuery) String() string {
	var b strings.Builder
	q.root.text(&b)
	return b.String()
}

func (n *qnode) text(b *strings.Builder) {
	switch n.op {
	case qOr, qAnd:
		sep := map[qop]string{qOr: " OR ", qAnd: " AND "}[n.op]
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.textIn(b, n.op == qAnd && k.op == qOr)
		}
	case qNot:
		b.WriteString("NOT ")
		n.kids[0].textIn(b, n.kids[0].op == qOr || n.kids[0].op == qAnd)
	case qCmp:
		b.WriteString(n.field + " " + n.cmp + " " + quoteQuery(n.values[0]))
	case qIn:
		b.WriteString(n.field + " IN (")
		for i, v := range n.values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteQuery(v))
		}
		b.WriteString(")")
	}
}

func (n *qnode) textIn(b *strings.Builder, parens bool) {
	if parens {
		b.WriteString("(")
	}
	n.text(b)
	if parens {
		b.WriteString(")")
	}
}

func quoteQuery(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// SQL compiles the query to a parenthesized boolean expression over the
// unqualified columns of the devices table, with placeholders numbered from
// $argOffset+1, and returns it with the values for those placeholders.
func (q *GroupQuery) SQL(argOffset int) (string, []any) {
	c := &sqlCompiler{offset: argOffset}
	var b strings.Builder
	b.WriteString("(")
	q.root.sql(&b, c)
	b.WriteString(")")
	return b.String(), c.args
}

type sqlCompiler struct {
	offset int
	args   []any
}

func (c *sqlCompiler) arg(v string) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(c.offset+len(c.args))
}

var sqlOps = map[string]string{"=": " = ", "!=": " <> ", "LIKE": " LIKE "}

func (n *qnode) sql(b *strings.Builder, c *sqlCompiler) {
	switch n.op {
	case qOr, qAnd:
		sep := map[qop]string{qOr: " OR ", qAnd: " AND "}[n.op]
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString("(")
			k.sql(b, c)
			b.WriteString(")")
		}
	case qNot:
		b.WriteString("NOT (")
		n.kids[0].sql(b, c)
		b.WriteString(")")
	case qCmp:
		b.WriteString(queryColumns[n.field] + sqlOps[n.cmp] + c.arg(n.values[0]))
	case qIn:
		b.WriteString(queryColumns[n.field] + " IN (")
		for i, v := range n.values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.arg(v))
		}
		b.WriteString(")")
	}
}

// utf8Pos is the character position (from 1) of byte offset i of s.
func utf8Pos(s string, i int) int { return utf8.RuneCountInString(s[:i]) + 1 }

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tComma
	tEq
	tNe
)

// token is a word as written, a string's value, or punctuation, at a
// character position (from 1).
type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) is(keyword string) bool { return t.kind == tWord && strings.EqualFold(t.text, keyword) }

func (t token) isKeyword() bool {
	return t.is("AND") || t.is("OR") || t.is("NOT") || t.is("IN") || t.is("LIKE")
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the query"
	case tString:
		if utf8.RuneCountInString(t.text) > 20 {
			return "the string '" + string([]rune(t.text)[:20]) + "...'"
		}
		return "the string " + quoteQuery(t.text)
	}
	return t.text
}

// tokenize splits s into tokens ending with tEOF.
func tokenize(s string) ([]token, error) {
	for i, r := range s {
		if _, size := utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError && size == 1 {
			return nil, &QueryError{Pos: utf8Pos(s, i), Msg: "the query is not valid UTF-8"}
		}
	}
	rs := []rune(s)
	var toks []token
	for i := 0; i < len(rs); {
		r, pos := rs[i], i+1
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i++
		case isWordStart(r):
			j := i + 1
			for j < len(rs) && (isWordStart(rs[j]) || rs[j] >= '0' && rs[j] <= '9') {
				j++
			}
			toks, i = append(toks, token{tWord, string(rs[i:j]), pos}), j
		case r == '\'':
			v, j, err := scanString(rs, i)
			if err != nil {
				return nil, err
			}
			toks, i = append(toks, token{tString, v, pos}), j
		case r == '!' && i+1 < len(rs) && rs[i+1] == '=', r == '<' && i+1 < len(rs) && rs[i+1] == '>':
			toks, i = append(toks, token{tNe, "!=", pos}), i+2
		case strings.ContainsRune("(),=", r):
			kind := map[rune]tokKind{'(': tLParen, ')': tRParen, ',': tComma, '=': tEq}[r]
			toks, i = append(toks, token{kind, string(r), pos}), i+1
		default:
			return nil, &QueryError{Pos: pos, Msg: fmt.Sprintf("unexpected character %q%s", r, charHint(r))}
		}
	}
	return append(toks, token{tEOF, "", len(rs) + 1}), nil
}

// charHint says what was probably meant by an unexpected character.
func charHint(r rune) string {
	switch {
	case strings.ContainsRune("!<>", r):
		return "; the operators are =, !=, LIKE and IN"
	case r == '"' || r >= '0' && r <= '9':
		return "; values are strings in single quotes, e.g. 'lamp-1'"
	}
	return ""
}

func isWordStart(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' }

// scanString reads the quoted string whose opening quote is rs[i] and returns
// its value and the index after its closing quote.
func scanString(rs []rune, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(rs); j++ {
		switch {
		case rs[j] == 0:
			return "", 0, &QueryError{Pos: j + 1, Msg: "a string cannot contain a NUL character"}
		case rs[j] != '\'':
			b.WriteRune(rs[j])
		case j+1 < len(rs) && rs[j+1] == '\'':
			b.WriteRune('\'')
			j++
		default:
			return b.String(), j + 1, nil
		}
	}
	return "", 0, &QueryError{Pos: i + 1, Msg: "this string has no closing '"}
}
