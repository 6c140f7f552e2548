"""Published spinal epidural and paraspinal masses, the table that encodes their descriptions into
reports, and the evaluation of the differential on them (issue 14; docs/literature-cases.md)."""
