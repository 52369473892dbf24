package repository

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// gormLogger bridges GORM's logger to zap. Statements are logged at debug
// level, slow ones at warn, failed ones at error; SQL arguments are never
// logged, only the statement with placeholders.
type gormLogger struct {
	log   *zap.Logger
	slow  time.Duration
	level logger.LogLevel
}

func newGormLogger(log *zap.Logger, slow time.Duration) logger.Interface {
	return &gormLogger{log: log.Named("sql"), slow: slow, level: logger.Warn}
}

func (l *gormLogger) LogMode(level logger.LogLevel) logger.Interface {
	c := *l
	c.level = level
	return &c
}

func (l *gormLogger) Info(_ context.Context, msg string, args ...any) {
	l.log.Sugar().Infof(msg, args...)
}

func (l *gormLogger) Warn(_ context.Context, msg string, args ...any) {
	l.log.Sugar().Warnf(msg, args...)
}

func (l *gormLogger) Error(_ context.Context, msg string, args ...any) {
	l.log.Sugar().Errorf(msg, args...)
}

// ParamsFilter keeps bind values out of logged SQL.
func (l *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (l *gormLogger) Trace(_ context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && l.log.Core().Enabled(zap.DebugLevel):
		sql, rows := fc()
		l.log.Debug("query failed", zap.String("sql", sql), zap.Int64("rows", rows), zap.Duration("elapsed", elapsed), zap.Error(err))
	case elapsed > l.slow:
		sql, rows := fc()
		l.log.Warn("slow query", zap.String("sql", sql), zap.Int64("rows", rows), zap.Duration("elapsed", elapsed))
	case l.log.Core().Enabled(zap.DebugLevel):
		sql, rows := fc()
		l.log.Debug("query", zap.String("sql", sql), zap.Int64("rows", rows), zap.Duration("elapsed", elapsed))
	}
}
