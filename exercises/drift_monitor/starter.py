"""Starter for drift_monitor: the four functions of README.md's contract (standard library only)."""

from __future__ import annotations


def psi(reference: list, live: list, edges: list) -> float | None:
    raise NotImplementedError("psi")


def psi_categorical(reference: list, live: list) -> float | None:
    raise NotImplementedError("psi_categorical")


def ks_statistic(reference: list, live: list) -> float | None:
    raise NotImplementedError("ks_statistic")


def alerts(values: list, high: float, low: float, k_on: int, m_off: int) -> list:
    raise NotImplementedError("alerts")
