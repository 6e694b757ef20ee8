"""Forecasters, rolling-origin backtests, metrics, intervals and strategies."""
