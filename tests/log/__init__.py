"""The log: appends, proofs, checkpoints, exports, bundles, witnesses."""
