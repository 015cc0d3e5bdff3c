"""The CLI's remote mode: the verbs sent to a team server (`FLEXOR_SERVER`)."""
