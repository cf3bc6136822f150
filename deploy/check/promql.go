package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type exprNames struct {
	Expr  string   `json:"expr"`
	Names []string `json:"names"`
	Error string   `json:"error,omitempty"`
}

// promqlNames parses each expression with Prometheus's own parser and lists the metric names of its selectors.
// A selector without a fixed name (only a __name__ regex, or none) is reported as an error: its names cannot be checked.
func promqlNames(in io.Reader, out io.Writer) error {
	var exprs []string
	if err := json.NewDecoder(in).Decode(&exprs); err != nil {
		return fmt.Errorf("stdin: expected a JSON array of strings: %w", err)
	}
	p := parser.NewParser(parser.Options{})
	results := make([]exprNames, 0, len(exprs))
	for _, e := range exprs {
		r := exprNames{Expr: e, Names: []string{}}
		ast, err := p.ParseExpr(e)
		if err != nil {
			r.Error = err.Error()
			results = append(results, r)
			continue
		}
		seen := map[string]bool{}
		parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
			var matchers []*labels.Matcher
			name := ""
			switch s := n.(type) {
			case *parser.VectorSelector:
				name, matchers = s.Name, s.LabelMatchers
			case *parser.MatrixSelector:
				return nil // its VectorSelector is visited next
			default:
				return nil
			}
			if name == "" {
				for _, m := range matchers {
					if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
						name = m.Value
					}
				}
			}
			if name == "" {
				r.Error = fmt.Sprintf("selector %s has no fixed metric name", n)
				return nil
			}
			seen[name] = true
			return nil
		})
		for name := range seen {
			r.Names = append(r.Names, name)
		}
		sort.Strings(r.Names)
		results = append(results, r)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
