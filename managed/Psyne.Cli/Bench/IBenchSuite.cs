namespace Psyne.Cli.Bench;

/// <summary>A family of measurements under <c>psyne bench &lt;name&gt;</c>.</summary>
public interface IBenchSuite
{
    string Name { get; }

    string Description { get; }

    /// <summary>How the suite measures, when a table should say so (printed under it); null when there is nothing to add.</summary>
    string? Method => null;

    /// <summary>The cases, each run lazily so the CLI can show progress between them.</summary>
    IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budgetPerMeasurement);

    /// <summary>
    /// Only the cases whose name contains <paramref name="filter"/> (ordinal, ignoring case), chosen
    /// before they run. Suites that cannot choose ahead return every case (<see cref="FiltersCases"/>
    /// false) and the command drops the results that do not match.
    /// </summary>
    IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budgetPerMeasurement, string filter) => Cases(budgetPerMeasurement);

    /// <summary>Whether <see cref="Cases(TimeSpan, string)"/> honours its filter.</summary>
    bool FiltersCases => false;
}
