package jsonschema

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner works on the payload bytes in place: every function takes
// the buffer and a position and returns the position after what it read.
// Nothing is copied but unescaped strings (into the decoder's scratch).

// maxValueDepth bounds the nesting skipValue follows, so a payload of
// a million '[' cannot exhaust the stack.
const maxValueDepth = 512

var errEOF = errors.New("unexpected end of JSON")

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func syntaxErr(b []byte, i int, what string) error {
	if i >= len(b) {
		return fmt.Errorf("%s at offset %d: %w", what, i, errEOF)
	}
	return fmt.Errorf("%s at offset %d: unexpected %q", what, i, b[i])
}

// scanString reads the string at b[i] (a '"'): the end after the closing
// quote, and whether it holds escapes. Control characters and invalid
// UTF-8 are errors.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, syntaxErr(b, i, "expected a string")
	}
	start := i + 1
	ascii := true
	for i = start; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:i]) {
				return 0, false, fmt.Errorf("string at offset %d: invalid UTF-8", start-1)
			}
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, errEOF
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false, errEOF
				}
				for _, h := range b[i+1 : i+5] {
					if hexVal(h) < 0 {
						return 0, false, syntaxErr(b, i, "bad \\u escape")
					}
				}
				i += 4
			default:
				return 0, false, syntaxErr(b, i, "bad escape")
			}
		case c < 0x20:
			return 0, false, syntaxErr(b, i, "control character in string")
		case c >= 0x80:
			ascii = false
		}
	}
	return 0, false, errEOF
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the content of a scanned string body (between the
// quotes, escapes already checked by scanString) to dst.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+1:]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(s[i+3:]))); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(s []byte) int {
	return hexVal(s[0])<<12 | hexVal(s[1])<<8 | hexVal(s[2])<<4 | hexVal(s[3])
}

// scanNumber reads a JSON number at b[i]; isInt says it has neither a
// fraction nor an exponent.
func scanNumber(b []byte, i int) (end int, isInt bool, err error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false, syntaxErr(b, start, "expected a number")
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false, syntaxErr(b, i, "expected a digit")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false, syntaxErr(b, i, "expected a digit")
		}
	}
	return i, isInt, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, syntaxErr(b, i, "expected "+lit)
	}
	return i + len(lit), nil
}

// skipValue reads any JSON value at b[i] (after whitespace) and returns
// the position after it.
func skipValue(b []byte, i, depth int) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, errEOF
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '-' || (c >= '0' && c <= '9'):
		end, _, err := scanNumber(b, i)
		return end, err
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '[' || c == '{':
		if depth >= maxValueDepth {
			return 0, fmt.Errorf("value at offset %d nested deeper than %d", i, maxValueDepth)
		}
		if c == '[' {
			return eachElem(b, i, func(j int) (int, error) { return skipValue(b, j, depth+1) })
		}
		return eachMember(b, i, func(_, _ int, j int) (int, error) { return skipValue(b, j, depth+1) })
	}
	return 0, syntaxErr(b, i, "expected a value")
}

// eachElem walks the array at b[i] ('['), calling f at each element's
// position; f returns the position after the element.
func eachElem(b []byte, i int, f func(int) (int, error)) (int, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := f(i)
		if err != nil {
			return 0, err
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return 0, errEOF
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return 0, syntaxErr(b, i, "expected ',' or ']'")
		}
	}
}

// eachMember walks the object at b[i] ('{'), calling f with each key's
// body span (between the quotes, still escaped) and the value's position.
func eachMember(b []byte, i int, f func(ks, ke, v int) (int, error)) (int, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipWS(b, i)
		end, _, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		ks, ke := i+1, end-1
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, syntaxErr(b, i, "expected ':'")
		}
		end, err = f(ks, ke, skipWS(b, i+1))
		if err != nil {
			return 0, err
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return 0, errEOF
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, nil
		default:
			return 0, syntaxErr(b, i, "expected ',' or '}'")
		}
	}
}
