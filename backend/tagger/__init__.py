"""Remote taggers as the request describes them: the spec, its protocols and the address guard."""
