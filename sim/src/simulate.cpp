// simulator
