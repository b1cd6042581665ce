from freqtrade.strategy import IStrategy
from pandas import DataFrame


class TradeHiveSma(IStrategy):
    """Buys when the 3-candle mean is above the 6-candle mean; sells on the cross back."""

    timeframe = "1m"
    minimal_roi = {"0": 0.02}
    stoploss = -0.05
    startup_candle_count = 6
    can_short = False

    def populate_indicators(self, df: DataFrame, metadata: dict) -> DataFrame:
        df["fast"] = df["close"].rolling(3).mean()
        df["slow"] = df["close"].rolling(6).mean()
        return df

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        df.loc[df["fast"] > df["slow"], "enter_long"] = 1
        return df

    def populate_exit_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        df.loc[
            (df["fast"] < df["slow"]) & (df["fast"].shift(1) >= df["slow"].shift(1)), "exit_long"
        ] = 1
        return df
