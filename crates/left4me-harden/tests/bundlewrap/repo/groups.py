groups = {}
