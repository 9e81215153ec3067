"""Lead intake: the public POST /leads and the stored leads."""
