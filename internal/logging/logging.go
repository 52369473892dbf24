// Package logging builds the process's zap logger from the log section of
// the configuration: JSON lines for production, human-readable console
// output for development.
package logging

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/servo-data/servo/internal/config"
)

// New returns a logger that writes to standard error at cfg.Level in
// cfg.Format.
func New(cfg config.Log) (*zap.Logger, error) {
	return NewWithWriter(cfg, os.Stderr)
}

// NewWithWriter is New writing to w instead of standard error.
func NewWithWriter(cfg config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var enc zapcore.Encoder
	switch cfg.Format {
	case "json":
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "time"
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log format %q: must be json or console", cfg.Format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	// Stack traces only for programming errors: a panic is logged with its
	// own stack where it is recovered.
	return zap.New(core,
		zap.AddCaller(),
		zap.AddStacktrace(zapcore.DPanicLevel),
		zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(w))),
	), nil
}
