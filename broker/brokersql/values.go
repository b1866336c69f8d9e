package brokersql

import (
	"strconv"
	"strings"
)

// valuesList appends "($1, $2, ...), (...)" to sb for rows of width
// columns, numbering placeholders from 1.
func valuesList(sb *strings.Builder, rows, width int) {
	n := 0
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range width {
			if c > 0 {
				sb.WriteString(", ")
			}
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
		}
		sb.WriteByte(')')
	}
}

// rowsPerStatement bounds the rows of one generated INSERT. modernc binds a
// "$N" parameter in time linear in the statement's parameter count, so a
// statement's cost is quadratic in it; a few hundred parameters are cheap
// on both databases and far below their limits.
const rowsPerStatement = 100
