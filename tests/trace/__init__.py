"""Traces, lots, recalls and FSMA exports."""
