package deploycheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Cmd  string // upper case: FROM, RUN, COPY...
	Args string
	Line int
}

// Stage is one build stage: its base image, its name and its instructions.
type Stage struct {
	From   string
	Name   string
	Instrs []Instruction
}

// Dockerfile is a parsed Dockerfile: its stages in order.
type Dockerfile struct {
	Stages []Stage
}

// Final returns the last stage, the one the image is made of.
func (d Dockerfile) Final() Stage {
	if len(d.Stages) == 0 {
		return Stage{}
	}
	return d.Stages[len(d.Stages)-1]
}

// Stage returns the stage named name (FROM ... AS name).
func (d Dockerfile) Stage(name string) (Stage, bool) {
	for _, s := range d.Stages {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Stage{}, false
}

// Last returns the last instruction cmd of the stage.
func (s Stage) Last(cmd string) (Instruction, bool) {
	for i := len(s.Instrs) - 1; i >= 0; i-- {
		if s.Instrs[i].Cmd == cmd {
			return s.Instrs[i], true
		}
	}
	return Instruction{}, false
}

// All returns every instruction cmd of the stage.
func (s Stage) All(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instrs {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// ParseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func ParseDockerfile(text string) (Dockerfile, error) {
	var d Dockerfile
	var cur strings.Builder
	start := 0
	flush := func() error {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := Instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := Stage{}
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", start)
			}
			st.From = f[0]
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			d.Stages = append(d.Stages, st)
			return nil
		}
		if len(d.Stages) == 0 {
			if in.Cmd != "ARG" {
				return fmt.Errorf("line %d: %s before the first FROM", start, in.Cmd)
			}
			return nil
		}
		st := &d.Stages[len(d.Stages)-1]
		st.Instrs = append(st.Instrs, in)
		return nil
	}
	for i, raw := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return d, err
		}
	}
	if cur.Len() > 0 {
		return d, errors.New("the last instruction ends with a line continuation")
	}
	if len(d.Stages) == 0 {
		return d, errors.New("no FROM")
	}
	return d, nil
}

// ExecForm parses the JSON (exec) form of CMD and ENTRYPOINT. The image has
// no shell, so the shell form cannot run.
func ExecForm(args string) ([]string, bool) {
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		return nil, false
	}
	return out, true
}
