"""Where papers come from: each source yields validated Papers or RecordErrors."""
