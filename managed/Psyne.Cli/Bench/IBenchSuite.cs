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
}
