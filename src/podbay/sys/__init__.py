"""podbay.sys"""
