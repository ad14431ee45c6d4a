package trustpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// nodeKind is the JSON type of a node.
type nodeKind int

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k nodeKind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "a list", "an object"}[k]
}

// node is a JSON value that remembers where it started, so every parse error can point at a
// line and column. encoding/json's Unmarshal loses positions and member order; policy errors
// without a position are hard to fix in a 40-line trust policy.
type node struct {
	kind    nodeKind
	offset  int64 // byte offset of the value's first character
	str     string
	boolean bool
	num     json.Number
	items   []*node  // kindArray
	members []member // kindObject, in document order
}

type member struct {
	key    string
	offset int64
	value  *node
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack; real policies nest 4 deep.
const maxDepth = 64

// parseTree decodes exactly one JSON value from data.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := readNode(dec, data, 0)
	if err != nil {
		return nil, err
	}
	off := skipSpace(data, dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ParseError{Offset: off, Msg: "unexpected data after the policy's closing brace", data: data}
	}
	return root, nil
}

func readNode(dec *json.Decoder, data []byte, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &ParseError{Offset: skipSpace(data, dec.InputOffset()), Msg: fmt.Sprintf("nested deeper than %d levels", maxDepth), data: data}
	}
	start := skipSpace(data, dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err, data, start)
	}
	n := &node{offset: start}
	switch t := tok.(type) {
	case nil:
		n.kind = kindNull
	case bool:
		n.kind, n.boolean = kindBool, t
	case json.Number:
		n.kind, n.num = kindNumber, t
	case string:
		n.kind, n.str = kindString, t
	case json.Delim:
		switch t {
		case '[':
			n.kind = kindArray
			for dec.More() {
				item, err := readNode(dec, data, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
		case '{':
			n.kind = kindObject
			for dec.More() {
				koff := skipSpace(data, dec.InputOffset())
				ktok, err := dec.Token()
				if err != nil {
					return nil, jsonError(err, data, koff)
				}
				key, _ := ktok.(string)
				value, err := readNode(dec, data, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, member{key: key, offset: koff, value: value})
			}
		}
		end := skipSpace(data, dec.InputOffset())
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, jsonError(err, data, end)
		}
	}
	return n, nil
}

// skipSpace moves off past the separators the decoder has not consumed yet, so an offset points
// at the value itself rather than at the comma before it.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func jsonError(err error, data []byte, fallback int64) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &ParseError{Offset: syn.Offset, Msg: "invalid JSON: " + syn.Error(), data: data}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &ParseError{Offset: int64(len(data)), Msg: "invalid JSON: the document ends too early (unclosed brace, bracket or string)", data: data}
	}
	return &ParseError{Offset: fallback, Msg: "invalid JSON: " + err.Error(), data: data}
}

// lineColumn turns a byte offset into a 1-based line and column (columns count runes).
func lineColumn(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, r := range string(data[:off]) {
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return line, col
}
